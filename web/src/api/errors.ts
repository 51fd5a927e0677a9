//! Every error the API can answer, as a sentence a person can act on: PostgREST's PGRST codes,
//! SQLSTATEs (42501 and constraint violations), the reference schema's own `PTnnn` messages
//! (written as sentences in SQL: functions/*.sql), GoTrue's error codes on /auth/v1 and network
//! failures. Screens show `ApiError.sentence`, never JSON.

const AUTH_CODES: Record<string, string> = {
  invalid_credentials: 'The email address or the password is wrong.',
  user_already_exists: 'An account with this email address already exists: sign in instead.',
  email_exists: 'An account with this email address already exists.',
  weak_password: 'The password is too weak: use at least 8 characters.',
  validation_failed: 'Enter a valid email address and a password.',
  over_request_rate_limit: 'Too many attempts: wait a minute, then try again.',
  signup_disabled: 'Sign-up is turned off on this server: ask an administrator for an invitation.',
  session_not_found: 'Your session has ended: sign in again.',
  refresh_token_not_found: 'Your session has ended: sign in again.',
  refresh_token_already_used: 'Your session has ended: sign in again.',
  bad_jwt: 'Your session is not valid: sign in again.',
  no_authorization: 'You are signed out: sign in again.',
  user_banned: 'This account is disabled.',
  not_admin: 'Only platform administrators may do that.',
  user_not_found: 'That user does not exist.',
  otp_expired: 'This link or code has expired or was already used: ask for a new one.',
  over_email_send_rate_limit: 'An email was sent to this address a moment ago: wait a minute before asking again.',
  same_password: 'The new password must differ from the old one.',
  mfa_verification_failed: 'That code is not right: check your authenticator app and enter the current code.',
  mfa_challenge_expired: 'The code request has expired: enter the current code again.',
  mfa_factor_name_conflict: 'You already have an authenticator with that name: choose another.',
  too_many_enrolled_mfa_factors: 'You have the most authenticators allowed: remove one first.',
  insufficient_aal: 'Enter a code from your authenticator app first (sign in again).',
  mfa_factor_not_found: 'That authenticator no longer exists: reload the page.',
  reauthentication_needed: 'For your security, sign in again before changing your password.',
};

const PGRST_CODES: Record<string, string> = {
  PGRST000: 'The server cannot reach its database right now: try again in a moment.',
  PGRST001: 'The server cannot reach its database right now: try again in a moment.',
  PGRST002: 'The server is starting: try again in a moment.',
  PGRST003: 'The server is busy: try again in a moment.',
  PGRST106: 'The console asked for a schema this server does not expose.',
  PGRST116: 'It was not found, or you may not see it.',
  PGRST200: 'This server does not know that relationship: the console and the server are out of step.',
  PGRST202: 'This server does not offer that function yet.',
  PGRST204: 'This server does not know that column: the console and the server are out of step.',
  PGRST205: 'This server does not know that table: the console and the server are out of step.',
  PGRST301: 'Your session has ended or was revoked: sign in again.',
  PGRST302: 'You are signed out: sign in again.',
  PGRST303: 'Your session has expired: sign in again.',
  PGRST408: 'The request took too long to arrive: try again.',
  PGRST429: 'Too many requests: wait a moment, then try again.',
};

const SQLSTATES: Record<string, string> = {
  '42501': 'You do not have permission to do that.',
  '23505': 'That already exists.',
  '23503': 'That refers to something that no longer exists.',
  '23502': 'A required value is missing.',
  '22P02': 'A value has the wrong format.',
  '22007': 'A date has the wrong format.',
  '22008': 'A date is out of range.',
  '22001': 'A value is too long.',
  '57014': 'The request took too long and was cancelled: try again.',
  '40001': 'Someone changed the same data at the same moment: try again.',
  '40P01': 'Someone changed the same data at the same moment: try again.',
};

/** "only owners and admins invite" → "Only owners and admins invite." */
export function asSentence(text: string): string {
  const t = text.trim();
  if (!t) return 'Something went wrong.';
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** The column a check constraint named `<table>_<column>_check` guards, if the name says so. */
function checkedColumn(message: string): string | null {
  const m = /check constraint "[a-z]+_([a-z_]+?)_check"/.exec(message);
  return m ? m[1].replace(/_/g, ' ') : null;
}

/** A quota refusal as a sentence, with what to do about it. */
function quotaSentence(details: string, message: string): string {
  if (/^organization pending approval/.test(details)) {
    const limit = details.replace(/^organization pending approval: /, '');
    return `This organization is pending approval and may have ${limit} until a platform administrator approves it.`;
  }
  if (details) return `This organization has reached its plan’s limit: ${details}. A platform administrator can move it to another plan.`;
  return asSentence(message || 'quota exceeded');
}

export class ApiError extends Error {
  constructor(
    /** What to show. */
    readonly sentence: string,
    /** The PGRST code, SQLSTATE or GoTrue error code, when there was one. */
    readonly code: string,
  ) {
    super(sentence);
    this.name = 'ApiError';
  }

  static from(e: unknown): ApiError {
    if (e instanceof ApiError) return e;
    const err = (e ?? {}) as { name?: string; message?: string; details?: string; code?: string | number; status?: number };
    const code = err.code === undefined || err.code === null ? '' : String(err.code);
    const message = typeof err.message === 'string' ? err.message : '';
    const name = err.name ?? '';

    // Network: fetch rejected (postgrest-js reports it with an empty code, auth-js as retryable).
    if (
      name === 'AuthRetryableFetchError' ||
      (e instanceof TypeError && /fetch|network/i.test(message)) ||
      (!code && /Failed to fetch|NetworkError|fetch failed|Load failed/i.test(message))
    ) {
      return new ApiError('The server cannot be reached: check the connection and try again.', 'network');
    }
    if (name === 'AuthSessionMissingError') return new ApiError(AUTH_CODES.session_not_found, 'session_not_found');
    if (name.startsWith('Auth')) {
      // rowgate refuses a link back to an origin it does not know (docs/auth.md, "Redirects").
      if (code === 'validation_failed' && /redirect_to is not an allowed/.test(message)) {
        return new ApiError('This server may not send links back to this site: its ROWGATE_SITE_URL must be this site’s address.', code);
      }
      if (code && AUTH_CODES[code]) return new ApiError(AUTH_CODES[code], code);
      if (err.status === 429) return new ApiError(AUTH_CODES.over_request_rate_limit, 'over_request_rate_limit');
      return new ApiError(asSentence(message || 'The sign-in service refused the request'), code);
    }
    // A plan's limit (functions/quota.sql, internal.check_quota: 403 `quota_exceeded`, the
    // limit in `details`): "plan starter allows at most 2 projects".
    if (code === 'quota_exceeded') return new ApiError(quotaSentence(err.details ?? '', message), code);
    // The reference schema's own errors (PT400, PT403, PT404, PT409…) are sentences already.
    if (/^PT\d{3}$/.test(code)) return new ApiError(asSentence(message), code);
    if (code === '42501') {
      const sentence = /row-level security/.test(message)
        ? 'You do not have permission to do that in this organization.'
        : SQLSTATES[code];
      return new ApiError(sentence, code);
    }
    if (code === '23514') {
      const column = checkedColumn(message);
      return new ApiError(column ? `The ${column} is not allowed: check its length and value.` : 'A value is not allowed.', code);
    }
    if (PGRST_CODES[code]) return new ApiError(PGRST_CODES[code], code);
    if (SQLSTATES[code]) return new ApiError(SQLSTATES[code], code);
    // An exception raised in SQL without a code of ours (P0001): its message is the sentence.
    if (code === 'P0001' && message) return new ApiError(asSentence(message), code);
    return new ApiError(code ? `The server refused the request (${code}).` : 'Something went wrong: try again.', code);
  }
}

/** The sentence for any error a screen catches. */
export function describe(e: unknown): string {
  return ApiError.from(e).sentence;
}

/**
 * The error an emailed link's redirect carries (GoTrue's `#error=…&error_code=…&error_description=…`,
 * rowgate's GET /auth/v1/verify), as a sentence; null when the URL carries none.
 */
export function redirectError(params: URLSearchParams): string | null {
  const code = params.get('error_code') ?? params.get('error');
  if (!code) return null;
  return AUTH_CODES[code] ?? asSentence(params.get('error_description') ?? 'The link did not work');
}
