//! The routes and the frame around them: header (org switcher, the user, sign out), the org's
//! sections, the platform console for super admins, and main content with a skip link.

import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { supabase } from './api/client';
import { atLeast, type MyOrg } from './api/types';
import { Link, match, navigate, useLocation } from './router';
import { useApp } from './state';
import { Notice, Page } from './ui/kit';
import { AdminModels, AdminSettings, AdminUsers } from './features/admin/Admin';
import { AdminAccess } from './features/admin/Access';
import { AdminOrg, AdminOrgs } from './features/admin/Orgs';
import { AdminPlans } from './features/admin/Plans';
import { Account } from './features/account/Account';
import { Audit } from './features/audit/Audit';
import { AuthPage } from './features/auth/AuthPage';
import { ConfirmPage, ForgotPage, RecoverPage, linkLanding } from './features/auth/links';
import { MfaChallenge, MfaSettings } from './features/account/Mfa';
import { JoinPage, afterSignIn } from './features/members/join';
import { OAuthCallback } from './features/auth/oauth';
import { Members } from './features/members/Members';
import { Models } from './features/models/Models';
import { CreateOrg, Home, OrgStatusNotice, StatusBadge, rememberOrg, useCurrentOrg } from './features/orgs/orgs';
import { OrgSettings } from './features/orgs/Settings';
import { PlanPage } from './features/plan/Plan';
import { Projects } from './features/projects/Projects';
import { Tokens } from './features/tokens/Tokens';

type OrgSection = { path: string; label: string; minRole: MyOrg['role']; render: (org: MyOrg, params: Record<string, string>) => ComponentChildren };

/** The org's sections; a section is listed to roles its policies let in (the policies decide anyway). */
const ORG_SECTIONS: OrgSection[] = [
  { path: 'projects', label: 'Projects', minRole: 'viewer', render: (org, p) => <Projects org={org} projectId={p.project} /> },
  { path: 'members', label: 'Members', minRole: 'viewer', render: (org) => <Members org={org} /> },
  { path: 'models', label: 'Models', minRole: 'viewer', render: (org) => <Models org={org} /> },
  { path: 'plan', label: 'Plan and usage', minRole: 'viewer', render: (org) => <PlanPage org={org} /> },
  { path: 'tokens', label: 'API tokens', minRole: 'admin', render: (org) => <Tokens org={org} /> },
  { path: 'audit', label: 'Audit log', minRole: 'admin', render: (org) => <Audit org={org} /> },
  { path: 'settings', label: 'Organization', minRole: 'owner', render: (org) => <OrgSettings org={org} /> },
];

const ADMIN_SECTIONS = [
  { path: '/admin/orgs', label: 'Organizations', render: () => <AdminOrgs /> },
  { path: '/admin/plans', label: 'Plans', render: () => <AdminPlans /> },
  { path: '/admin/access', label: 'Access report', render: () => <AdminAccess /> },
  { path: '/admin/settings', label: 'Settings', render: () => <AdminSettings /> },
  { path: '/admin/models', label: 'Model catalog', render: () => <AdminModels /> },
  { path: '/admin/users', label: 'Users', render: () => <AdminUsers /> },
];

function OrgSwitcher({ current }: { current: string | null }) {
  const { orgs } = useApp();
  if (!orgs) return null;
  return (
    <div class="switcher">
      <label for="org-switcher">Organization</label>
      <select
        id="org-switcher"
        value={current ?? ''}
        onChange={(e) => {
          const id = e.currentTarget.value;
          if (id === '__new') navigate('/orgs/new');
          else if (id) navigate(`/o/${id}/projects`);
        }}
      >
        {!current && <option value="">Choose…</option>}
        {orgs.map((o) => (
          <option key={o.org_id} value={o.org_id}>
            {o.organizations.name}
          </option>
        ))}
        <option value="__new">+ New organization</option>
      </select>
    </div>
  );
}

function Frame({ orgId, children }: { orgId: string | null; children: ComponentChildren }) {
  const { email, superAdmin, orgs } = useApp();
  const loc = useLocation();
  const org = orgId ? orgs?.find((o) => o.org_id === orgId) : undefined;
  const signOut = async () => {
    await supabase.auth.signOut();
    navigate('/signin', { replace: true });
  };
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          // Focus the content without touching the URL's fragment (/join#<token> keeps its token).
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          rowgate console
        </Link>
        <OrgSwitcher current={orgId} />
        <div class="me">
          <Link href="/account" class="email" aria-current={loc.path.startsWith('/account') ? 'page' : undefined}>
            {email}
          </Link>
          <button type="button" class="quiet" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <div class="body">
        <nav class="side" aria-label="Sections">
          {org && (
            <>
              <p class="side-title">
                {org.organizations.name} <StatusBadge status={org.organizations.status} />
              </p>
              <p class="side-role">Your role: {org.role}</p>
              <ul>
                {ORG_SECTIONS.filter((s) => atLeast(org.role, s.minRole)).map((s) => {
                  const href = `/o/${org.org_id}/${s.path}`;
                  const here = loc.path === href || loc.path.startsWith(`${href}/`);
                  return (
                    <li key={s.path}>
                      <Link href={href} aria-current={here ? 'page' : undefined}>
                        {s.label}
                      </Link>
                    </li>
                  );
                })}
              </ul>
            </>
          )}
          {superAdmin && (
            <>
              <p class="side-title">Platform</p>
              <ul>
                {ADMIN_SECTIONS.map((s) => (
                  <li key={s.path}>
                    <Link href={s.path} aria-current={loc.path === s.path || loc.path.startsWith(`${s.path}/`) ? 'page' : undefined}>
                      {s.label}
                    </Link>
                  </li>
                ))}
              </ul>
            </>
          )}
        </nav>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </>
  );
}

function OrgRoute({ orgId, section, params }: { orgId: string; section: OrgSection; params: Record<string, string> }) {
  const org = useCurrentOrg(orgId);
  useEffect(() => {
    if (org) rememberOrg(org.org_id);
  }, [org?.org_id]);
  if (org === undefined) return <p class="loading">Loading…</p>;
  if (org === null) {
    return (
      <Page title="Organization not found">
        <p>This organization does not exist, or you are not one of its members.</p>
        <p>
          <Link href="/">Go to your organizations</Link>
        </p>
      </Page>
    );
  }
  return (
    <>
      <OrgStatusNotice org={org.organizations} />
      {section.render(org, params)}
    </>
  );
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>
        <Link href="/">Go to the start page</Link>
      </p>
    </Page>
  );
}

/** Pages of emailed links and the recovery request: open signed in or out, without the frame. */
const EMAIL_PAGES: Record<string, () => ComponentChildren> = {
  '/auth/forgot': () => <ForgotPage />,
  '/auth/recover': () => <RecoverPage />,
  '/auth/confirm': () => <ConfirmPage />,
  '/auth/callback': () => <OAuthCallback />,
};

export function App() {
  const { session, superAdmin, orgsError, needsMfa } = useApp();
  const loc = useLocation();
  const path = loc.path.replace(/\/+$/, '') || '/';

  // Signed out: the sign-in pages, the emailed links' pages and the invitation landing page only.
  const publicPage = path === '/signin' || path === '/signup' || path === '/join' || path in EMAIL_PAGES;
  // An emailed link that landed on the site's root goes on to the page that tells its outcome.
  useEffect(() => {
    const to = linkLanding(path);
    if (to) navigate(to, { replace: true });
  }, []);
  useEffect(() => {
    if (session === null && !publicPage) navigate('/signin', { replace: true });
    // Signed in on a sign-in page: back to a pending invitation, else home.
    if (session && (path === '/signin' || path === '/signup')) navigate(afterSignIn(), { replace: true });
  }, [session, path, publicPage]);

  if (session === undefined || (session && needsMfa === undefined)) return <p class="loading">Loading…</p>;
  // A verified second factor and an aal1 session: the code first, then the console.
  if (session && needsMfa) {
    return (
      <main id="main" class="solo">
        <MfaChallenge />
      </main>
    );
  }
  const emailPage = EMAIL_PAGES[path];
  if (emailPage) {
    return (
      <main id="main" class="solo">
        {emailPage()}
      </main>
    );
  }
  if (!session) {
    if (path === '/join') return <main id="main" class="solo"><JoinPage /></main>;
    return (
      <main id="main" class="solo">
        <AuthPage mode={path === '/signup' ? 'signup' : 'signin'} />
      </main>
    );
  }

  let orgId: string | null = null;
  let content: ComponentChildren = <NotFound />;
  const orgMatch = match('/o/:org/:section', path) ?? match('/o/:org/:section/:project', path);
  if (path === '/') content = <Home />;
  else if (path === '/orgs/new') content = <CreateOrg />;
  else if (path === '/join') content = <JoinPage />;
  else if (path === '/account') content = <Account />;
  else if (path === '/account/mfa') content = <MfaSettings />;
  else if (orgMatch) {
    orgId = orgMatch.org;
    const section = ORG_SECTIONS.find((s) => s.path === orgMatch.section && (s.path === 'projects' || !orgMatch.project));
    if (section) content = <OrgRoute orgId={orgId} section={section} params={orgMatch} />;
  } else if (path.startsWith('/admin/')) {
    const one = match('/admin/orgs/:id', path);
    const render = one ? () => <AdminOrg id={one.id} /> : ADMIN_SECTIONS.find((s) => s.path === path)?.render;
    if (render) {
      if (superAdmin === null) content = <p class="loading">Loading…</p>;
      else content = superAdmin ? render() : <Notice kind="error">Only platform administrators may open this page.</Notice>;
    }
  }

  return (
    <Frame orgId={orgId}>
      <Notice kind="error">{orgsError}</Notice>
      {content}
    </Frame>
  );
}
