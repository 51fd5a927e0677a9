//! The signed-in user's state shared by every screen: the session (supabase-js keeps it in
//! localStorage and refreshes it), whether the user is a super admin, and their organizations
//! with their role in each (read live from api.memberships: roles are never in the token).

import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';
import type { Session } from '@supabase/supabase-js';
import { adminApi, run, supabase } from './api/client';
import { describe } from './api/errors';
import { ORG_COLUMNS, type MyOrg } from './api/types';

export interface AppState {
  /** undefined while supabase-js reads its stored session. */
  session: Session | null | undefined;
  userId: string | null;
  email: string | null;
  /** From auth.users.is_super_admin, via the admin API (the token never says); null while asking. */
  superAdmin: boolean | null;
  /** null while loading. */
  orgs: MyOrg[] | null;
  orgsError: string | null;
  reloadOrgs: () => Promise<void>;
  /**
   * True when the user has a verified second factor but this session has not used it (aal1 →
   * aal2, supabase-js `mfa.getAuthenticatorAssuranceLevel`): the console asks for the code first.
   * undefined while asking.
   */
  needsMfa: boolean | undefined;
}

const AppContext = createContext<AppState>({
  session: undefined,
  userId: null,
  email: null,
  superAdmin: null,
  orgs: null,
  orgsError: null,
  reloadOrgs: async () => {},
  needsMfa: undefined,
});

export const useApp = () => useContext(AppContext);

/**
 * rowgate answers /auth/v1/admin/users to super admins only (auth.may_administer(), in SQL);
 * a successful one-row listing is the cheapest read-only way to ask. (The tenancy kit added no
 * "am I a super admin" RPC; one would answer this directly. The platform pages do not rely on the
 * answer: their RPCs and policies refuse anyone else.)
 */
async function probeSuperAdmin(): Promise<boolean> {
  try {
    const api = await adminApi();
    if (!api) return false;
    const { error } = await api.listUsers({ page: 1, perPage: 1 });
    return !error;
  } catch {
    return false;
  }
}

export function AppProvider({ children }: { children: ComponentChildren }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [superAdmin, setSuperAdmin] = useState<boolean | null>(null);
  const [orgs, setOrgs] = useState<MyOrg[] | null>(null);
  const [orgsError, setOrgsError] = useState<string | null>(null);
  const [needsMfa, setNeedsMfa] = useState<boolean | undefined>(undefined);
  const userId = session?.user.id ?? null;
  const accessToken = session?.access_token;

  useEffect(() => {
    void supabase.auth.getSession().then(({ data }) => setSession(data.session));
    const { data } = supabase.auth.onAuthStateChange((_event, next) => setSession(next));
    return () => data.subscription.unsubscribe();
  }, []);

  // Each new access token (sign-in, MFA verify, refresh): does this session still owe a code?
  // (Not from inside onAuthStateChange: supabase-js must not be awaited there.)
  useEffect(() => {
    if (!accessToken) {
      setNeedsMfa(undefined);
      return;
    }
    let current = true;
    void supabase.auth.mfa.getAuthenticatorAssuranceLevel().then(({ data }) => {
      if (current) setNeedsMfa(data?.nextLevel === 'aal2' && data.currentLevel !== 'aal2');
    });
    return () => {
      current = false;
    };
  }, [accessToken]);

  const reloadOrgs = useCallback(async () => {
    if (!userId) {
      setOrgs(null);
      return;
    }
    try {
      const rows = await run<MyOrg[]>(
        supabase
          .from('memberships')
          .select(`org_id, role, organizations(${ORG_COLUMNS})`)
          .eq('user_id', userId),
      );
      rows.sort((a, b) => a.organizations.name.localeCompare(b.organizations.name));
      setOrgs(rows);
      setOrgsError(null);
    } catch (e) {
      setOrgs([]);
      setOrgsError(describe(e));
    }
  }, [userId]);

  // Once per user (not on every token refresh): their orgs and whether they administer the platform.
  useEffect(() => {
    setOrgs(null);
    setSuperAdmin(null);
    if (!userId) return;
    void reloadOrgs();
    void probeSuperAdmin().then(setSuperAdmin);
  }, [userId, reloadOrgs]);

  const value: AppState = {
    session,
    userId,
    email: session?.user.email ?? null,
    superAdmin,
    orgs,
    orgsError,
    reloadOrgs,
    needsMfa,
  };
  return <AppContext.Provider value={value}>{children}</AppContext.Provider>;
}
