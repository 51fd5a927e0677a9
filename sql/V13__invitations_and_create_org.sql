-- Invitations bound to their email and "anyone with the link" invitations (issue 13): the table
-- changes. The functions (api.create_invite_link, api.accept_invitation, api.create_organization,
-- internal.confirmed_email) live in functions/. See docs/tenancy.md "Joining an organization".
--
-- Two kinds of invitation share api.invitations and the token format (`<org id>.<48 hex>`, only
-- its SHA-256 stored), so api.accept_invitation takes either:
--   email  api.create_invitation(org, email, role): one use, only by the user whose email matches
--          the invitation's, case-insensitively (internal.confirmed_email below);
--   link   api.create_invite_link(org, role, max_uses, expires_in): any signed-in user (not an API
--          token) until `max_uses` users have joined through it or it expires.
-- Both: created by owners/admins with a role not above their own; a user who is already a member
-- is refused and consumes nothing.

-- ---------------------------------------------------------------------------------------------
-- api.invitations: the kind, and a link's use count. An email invitation is used when
-- accepted_at is set (as before); a link counts its uses (accepted_at/accepted_by stay NULL: who
-- joined through it is in the memberships and in the audit log, one UPDATE of the invitation per
-- use with the joining user as actor). Existing rows are email invitations and satisfy the check
-- as they are (nothing is rewritten, so no trigger fires).

alter table api.invitations alter column email drop not null;
alter table api.invitations
  add column kind text not null default 'email',
  add column max_uses integer,
  add column use_count integer not null default 0,
  add column last_used_at timestamptz;
alter table api.invitations add constraint invitations_kind_check check (
  case kind
    when 'email' then email is not null and max_uses is null and use_count = 0 and last_used_at is null
    when 'link' then email is null and max_uses between 1 and 1000 and use_count between 0 and max_uses
                     and accepted_at is null and accepted_by is null
    else false
  end);
