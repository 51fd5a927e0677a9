//! The few building blocks every screen uses: a page with its heading (focused on navigation, so
//! screen-reader and keyboard users land on it), notices (errors are role="alert"), a loader
//! hook, a two-step confirm button, a once-visible secret with a copy button, and formatting.

import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describe } from '../api/errors';

export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · rowgate console`;
    // Move focus to the new page's heading unless the user is typing somewhere.
    if (!document.activeElement || document.activeElement === document.body || document.activeElement.tagName === 'A') {
      heading.current?.focus();
    }
  }, [title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1} ref={heading}>
          {title}
        </h1>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Notice({ kind, children }: { kind: 'error' | 'info' | 'success'; children: ComponentChildren }) {
  if (!children) return null;
  return (
    <p class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => Promise<void>;
  set: (next: T | ((prev: T | undefined) => T)) => void;
}

/** Runs `load` now and whenever `deps` change; errors become sentences. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const result = await load();
      if (mine === generation.current) {
        setData(result);
        setError(null);
      }
    } catch (e) {
      if (mine === generation.current) setError(describe(e));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, deps);
  useEffect(() => {
    setData(undefined);
    void reload();
  }, [reload]);
  const set = useCallback((next: T | ((prev: T | undefined) => T)) => {
    setData((prev) => (typeof next === 'function' ? (next as (p: T | undefined) => T)(prev) : next));
  }, []);
  return { data, error, loading, reload, set };
}

/** A form's submit state: busy while `action` runs, its error as a sentence. */
export function useAction(): {
  busy: boolean;
  error: string | null;
  setError: (e: string | null) => void;
  act: (action: () => Promise<void>) => Promise<boolean>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const act = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (e) {
      setError(describe(e));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, act };
}

/** A destructive action in two steps: "Revoke" → "Confirm: revoke" / "Cancel". */
export function ConfirmButton({
  label,
  confirmLabel,
  onConfirm,
  disabled,
  describedBy,
}: {
  label: string;
  confirmLabel: string;
  onConfirm: () => void | Promise<void>;
  disabled?: boolean;
  describedBy?: string;
}) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" class="danger-quiet" disabled={disabled} aria-describedby={describedBy} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <button
        type="button"
        class="danger"
        ref={confirmRef}
        aria-describedby={describedBy}
        onClick={() => {
          setAsking(false);
          void onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" class="quiet" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** A secret shown once (a new API token, an invitation link), with a copy button. */
export function OnceVisible({ label, value, note }: { label: string; value: string; note: string }) {
  const [copied, setCopied] = useState(false);
  const id = `once-${label.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <div class="once">
      <label for={id}>{label}</label>
      <div class="once-row">
        <input id={id} readOnly value={value} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        <button
          type="button"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(value);
              setCopied(true);
            } catch {
              setCopied(false);
            }
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p class="hint">{note}</p>
    </div>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function when(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

/** The first block of a uuid: enough to tell users apart on screen (the full one is its title). */
export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '—';
}

/** Saves `data` as a JSON file (an export): a Blob behind a temporary link, nothing inline. */
export function downloadJson(filename: string, data: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** "30 days" (PostgREST's rendering of an interval) as it reads in a sentence. */
export function interval(text: string | null | undefined): string {
  if (!text) return 'the grace period';
  const m = /^(\d+) days?$/.exec(text.trim());
  return m ? `${m[1]} day${m[1] === '1' ? '' : 's'}` : text;
}
