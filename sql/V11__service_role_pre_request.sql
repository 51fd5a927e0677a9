-- service_role requests pass the pre-request check like every other request role: without
-- EXECUTE, ROWGATE_DB_PRE_REQUEST=internal.check_request refused every service_role request with
-- "permission denied for function check_request" before any grant or policy was consulted, so a
-- grant made to service_role never took effect. Its tokens carry no session, so the check
-- passes them; grants and policies decide the rest.
grant execute on function internal.check_request() to service_role;
