//! Start-up: read /config.json, configure supabase-js, render. A missing or broken configuration
//! is shown as a sentence instead of a blank page.

import { render } from 'preact';
import './styles.css';
import { initClient } from './api/client';
import { ConfigError, loadConfig } from './config';
import { App } from './App';
import { AppProvider } from './state';

const root = document.getElementById('app') as HTMLElement;

loadConfig()
  .then((config) => {
    initClient(config);
    render(
      <AppProvider>
        <App />
      </AppProvider>,
      root,
    );
  })
  .catch((e: unknown) => {
    const message = e instanceof ConfigError ? e.message : 'The console could not start.';
    render(
      <main id="main" class="solo">
        <h1>rowgate console</h1>
        <p class="notice notice-error" role="alert">
          {message}
        </p>
      </main>,
      root,
    );
  });
