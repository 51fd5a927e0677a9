"""Runs the PyPI `postgrest` client (postgrest-py, inside supabase-py) against a running rowgate
and asserts what PostgREST itself would answer.

    python3 tests/clients/postgrest_py.py <base-url> <jwt>      (or ROWGATE_URL / ROWGATE_TOKEN)

Needs the tables and functions of tests/fixtures/clients.sql (plus api.films/api.directors from
tests/fixtures/reads.sql) in a fresh database: the reads see the fixture rows as loaded, the writes
at the end change them in a fixed order. Every check runs; each failure is printed with the HTTP
exchanges the client made for it, and the exit status is 1 if any check failed.
ROWGATE_CLIENT_TRACE=1 prints every exchange.
"""

import json
import os
import sys
import traceback

from postgrest import APIError, CountMethod, ReturnMethod, SyncPostgrestClient

URL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ROWGATE_URL")
JWT = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("ROWGATE_TOKEN")
if not URL or not JWT:
    print("usage: python3 postgrest_py.py <base-url> <jwt>   (or ROWGATE_URL and ROWGATE_TOKEN)", file=sys.stderr)
    sys.exit(2)
TRACE = os.environ.get("ROWGATE_CLIENT_TRACE") == "1"

# Every request the client sends, with the answer, for the check that is running.
exchanges: list[dict] = []


def record(response):
    response.read()
    request = response.request
    headers = {k: ("Bearer <jwt>" if k.lower() == "authorization" else v) for k, v in request.headers.items()}
    exchanges.append(
        {
            "request": f"{request.method} {request.url}",
            "headers": headers,
            "body": request.content.decode() or None,
            "status": response.status_code,
            "responseHeaders": dict(response.headers),
            "responseBody": response.text,
        }
    )


db = SyncPostgrestClient(URL, schema="api")
db.auth(JWT)
db.session.event_hooks = {"request": [], "response": [record]}


def last_status() -> int:
    """The status of the last response (the client's result objects do not carry it)."""
    return exchanges[-1]["status"]


failures: list[str] = []
passed = 0


def check(name):
    def run(body):
        global passed
        exchanges.clear()
        try:
            body()
            passed += 1
            print(f"ok   {name}")
            if TRACE:
                print_exchanges()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the next check runs
            failures.append(name)
            print(f"FAIL {name}")
            text = str(e) if isinstance(e, AssertionError) else traceback.format_exc()
            if isinstance(e, APIError):
                text = f"APIError {e.json()}"
            print(indent(text))
            print_exchanges()
        return body

    return run


def print_exchanges():
    for x in exchanges:
        print(indent(json.dumps(x, indent=2)))


def indent(text: str) -> str:
    return "\n".join("     " + line for line in str(text).splitlines())


def eq(actual, expected, what=""):
    assert actual == expected, f"{what}\n  actual:   {actual!r}\n  expected: {expected!r}"


def api_error(call) -> APIError:
    """The APIError raised by `call` (which must raise one)."""
    try:
        result = call()
    except APIError as e:
        return e
    raise AssertionError(f"expected an APIError, got {result!r}")


def todos():
    return db.from_("client_todos")


# ------------------------------------------------------------------ reads (fixture rows as loaded)


@check("select with .eq")
def _():
    res = todos().select("id, slug").eq("done", False).order("id").execute()
    eq(res.data, [{"id": 1, "slug": "buy-milk"}, {"id": 3, "slug": "call-bob"}, {"id": 4, "slug": "water-plants"}])


@check("select with .gt")
def _():
    res = todos().select("slug", "priority").gt("priority", 3).order("priority").execute()
    eq(res.data, [{"slug": "read-book", "priority": 4}, {"slug": "write-report", "priority": 5}])


@check("select with .in_")
def _():
    res = todos().select("id").in_("slug", ["call-bob", "read-book", "no-such"]).order("id").execute()
    eq(res.data, [{"id": 3}, {"id": 5}])


@check("select with .like and .ilike")
def _():
    eq(todos().select("title").like("title", "%milk%").execute().data, [{"title": "Buy milk"}])
    eq(todos().select("id").ilike("title", "WRITE%").execute().data, [{"id": 2}])


@check("select with .or_")
def _():
    res = todos().select("slug").or_("priority.gt.4,slug.eq.call-bob").order("id").execute()
    eq(res.data, [{"slug": "write-report"}, {"slug": "call-bob"}])


@check("select with .is_, .neq and .not_")
def _():
    eq(todos().select("id").is_("tag_id", None).execute().data, [{"id": 5}])
    res = todos().select("id").neq("tag_id", 2).not_.is_("done", True).order("id").execute()
    eq(res.data, [{"id": 1}, {"id": 4}])


@check("embedding: select('title, directors(last_name)')")
def _():
    res = db.from_("films").select("title, directors(last_name)").in_("id", [1, 4]).order("id").execute()
    eq(
        res.data,
        [
            {"title": "Lost in Translation", "directors": {"last_name": "Coppola"}},
            {"title": "Orphan Film", "directors": None},
        ],
    )


@check("embedding: one-to-many with an order on the embed")
def _():
    res = (
        db.from_("client_tags")
        .select("name, client_todos(slug)")
        .in_("id", [1, 3])
        .order("id")
        .order("priority", desc=True, foreign_table="client_todos")
        .execute()
    )
    eq(
        res.data,
        [
            {"name": "home", "client_todos": [{"slug": "buy-milk"}, {"slug": "water-plants"}]},
            {"name": "unused", "client_todos": []},
        ],
    )


@check("embedding: !inner with a filter on the embed")
def _():
    res = (
        db.from_("films")
        .select("title, directors!inner(last_name)")
        .eq("directors.last_name", "Coppola")
        .order("year")
        .execute()
    )
    eq(
        res.data,
        [
            {"title": "The Virgin Suicides", "directors": {"last_name": "Coppola"}},
            {"title": "Lost in Translation", "directors": {"last_name": "Coppola"}},
        ],
    )
    res = todos().select("slug, client_tags!inner(name)").eq("client_tags.name", "work").order("id").execute()
    eq(
        res.data,
        [
            {"slug": "write-report", "client_tags": {"name": "work"}},
            {"slug": "call-bob", "client_tags": {"name": "work"}},
        ],
    )


@check(".single() with one row is an object")
def _():
    res = todos().select("slug, title").eq("slug", "call-bob").single().execute()
    eq(res.data, {"slug": "call-bob", "title": "Call Bob"})


@check(".single() with zero rows is error PGRST116")
def _():
    e = api_error(lambda: todos().select("slug").eq("slug", "no-such").single().execute())
    eq(e.code, "PGRST116", f"error: {e.json()}")
    eq(last_status(), 406)


@check(".single() with two rows is error PGRST116")
def _():
    e = api_error(lambda: todos().select("slug").eq("done", True).single().execute())
    eq(e.code, "PGRST116", f"error: {e.json()}")
    eq(last_status(), 406)


@check(".maybe_single() with zero rows is None")
def _():
    eq(todos().select("slug").eq("slug", "no-such").maybe_single().execute(), None)


@check(".maybe_single() with one row is an object")
def _():
    eq(todos().select("id").eq("slug", "read-book").maybe_single().execute().data, {"id": 5})


@check('.range(0, 1) with count="exact"')
def _():
    res = todos().select("id", count="exact").order("id").range(0, 1).execute()
    eq(res.data, [{"id": 1}, {"id": 2}])
    eq(res.count, 5)
    eq(last_status(), 206)


@check('count="exact", head=True')
def _():
    res = todos().select("*", count="exact", head=True).eq("done", False).execute()
    eq(res.count, 3)
    eq(last_status(), 200)


@check(".csv()")
def _():
    res = todos().select("id, slug, done, tag_id").gte("id", 4).order("id").csv().execute()
    # PostgREST writes each row as Postgres' text form of the record: booleans are t/f, NULL is empty.
    eq(res.data, "id,slug,done,tag_id\n4,water-plants,f,1\n5,read-book,t,")


@check(".order() and .limit()")
def _():
    eq(
        todos().select("slug").order("priority", desc=True).limit(2).execute().data,
        [{"slug": "write-report"}, {"slug": "read-book"}],
    )
    res = todos().select("id").order("tag_id", nullsfirst=True).order("id").limit(3).execute()
    eq(res.data, [{"id": 5}, {"id": 1}, {"id": 4}])


@check("rpc GET returning a scalar")
def _():
    eq(db.rpc("client_add", {"a": 2, "b": 3}, get=True).execute().data, 5)
    eq(exchanges[-1]["request"].split(" ")[0], "GET")


@check("rpc POST returning a scalar")
def _():
    eq(db.rpc("client_add", {"a": 40, "b": 2}).execute().data, 42)


@check("rpc GET returning a table, with .eq on the result")
def _():
    res = db.rpc("client_todos_tagged", {"tag": "work"}, get=True).select("slug").eq("done", False).execute()
    eq(res.data, [{"slug": "call-bob"}])


@check("rpc POST returning a table, with .eq, .order and count")
def _():
    res = (
        db.rpc("client_todos_tagged", {"tag": "home"}, count="exact")
        .select("slug, done")
        .eq("done", False)
        .order("priority")
        .execute()
    )
    eq(res.data, [{"slug": "water-plants", "done": False}, {"slug": "buy-milk", "done": False}])
    eq(res.count, 2)


@check("rpc POST returning a table, .single()")
def _():
    res = db.rpc("client_todos_tagged", {"tag": "work"}).select("id").eq("slug", "write-report").single().execute()
    eq(res.data, {"id": 2})


# ------------------------------------------------------------------ parity round 2 (issue 15): reads


@check("a computed field: selected, filtered and ordered")
def _():
    res = todos().select("slug, label:client_label").ilike("client_label", "%#5").order("client_label").execute()
    eq(res.data, [{"slug": "write-report", "label": "write-report#5"}])
    res = todos().select("id").gte("priority", 4).order("client_label", desc=True).execute()
    eq(res.data, [{"id": 2}, {"id": 5}])


@check("embedding by foreign-key constraint name and by column")
def _():
    res = todos().select("slug, tag:client_todos_tag_id_fkey(name)").in_("id", [1, 5]).order("id").execute()
    eq(res.data, [{"slug": "buy-milk", "tag": {"name": "home"}}, {"slug": "read-book", "tag": None}])
    res = todos().select("slug, tag_id(name)").eq("id", 2).execute()
    eq(res.data, [{"slug": "write-report", "tag_id": {"name": "work"}}])


@check("rel(count) counts the embedded rows")
def _():
    res = db.from_("client_tags").select("name, client_todos(count)").order("id").execute()
    eq(
        res.data,
        [
            {"name": "home", "client_todos": [{"count": 2}]},
            {"name": "work", "client_todos": [{"count": 2}]},
            {"name": "unused", "client_todos": [{"count": 0}]},
        ],
    )


# ------------------------------------------------------------------ writes, in this order
# Each check leans on earlier writes only through single-row operations, so one broken feature
# fails its own checks and not everything after it.


def total(**filters) -> int:
    query = todos().select("*", count="exact", head=True)
    for column, value in filters.items():
        query = query.eq(column, value)
    return query.execute().count


@check("insert returns the inserted row")
def _():
    res = todos().insert({"slug": "new-task", "title": "New task", "priority": 7}).execute()
    eq(res.data, [{"id": 6, "slug": "new-task", "title": "New task", "done": False, "priority": 7, "tag_id": None}])
    eq(last_status(), 201)


@check("bulk insert with default_to_null=False (columns + missing=default)")
def _():
    res = (
        todos()
        .insert(
            [
                {"slug": "bulk-a", "title": "A", "priority": 1},
                {"slug": "bulk-b", "title": "B", "priority": 2, "tag_id": 2},
            ],
            default_to_null=False,
        )
        .select("slug, done, tag_id")
        .execute()
    )
    eq(
        res.data,
        [
            {"slug": "bulk-a", "done": False, "tag_id": None},
            {"slug": "bulk-b", "done": False, "tag_id": 2},
        ],
    )
    eq(last_status(), 201)


@check("insert with returning=minimal is 201 with no data")
def _():
    res = todos().insert({"slug": "quiet", "title": "Quiet", "priority": 0}, returning=ReturnMethod.minimal).execute()
    eq(res.data, [])
    eq(last_status(), 201)
    todos().delete(returning=ReturnMethod.minimal).eq("slug", "quiet").execute()
    eq(last_status(), 204)


@check("insert violating the unique slug is error 23505 (409)")
def _():
    e = api_error(lambda: todos().insert({"slug": "buy-milk", "title": "dup", "priority": 1}).execute())
    eq(e.code, "23505", f"error: {e.json()}")
    eq(last_status(), 409)


@check("upsert with on_conflict='slug' merges into the existing row")
def _():
    before = total()
    res = todos().upsert({"slug": "buy-milk", "title": "Buy oat milk", "priority": 9}, on_conflict="slug").execute()
    eq(res.data, [{"id": 1, "slug": "buy-milk", "title": "Buy oat milk", "done": False, "priority": 9, "tag_id": 1}])
    # 200, not 201: PostgREST answers 200 when a merge-duplicates upsert inserted nothing (PostgREST#2926).
    eq(last_status(), 200)
    eq(total(), before, "the upsert must not add a row")


@check("bulk upsert with on_conflict merges one row and inserts another")
def _():
    res = (
        todos()
        .upsert(
            [
                {"slug": "call-bob", "title": "Call Bob today", "priority": 3},
                {"slug": "fresh", "title": "Fresh", "priority": 6},
            ],
            on_conflict="slug",
            default_to_null=False,
        )
        .select("slug, title, done, tag_id")
        .execute()
    )
    eq(
        sorted(res.data, key=lambda r: r["slug"]),
        [
            {"slug": "call-bob", "title": "Call Bob today", "done": False, "tag_id": 2},
            {"slug": "fresh", "title": "Fresh", "done": False, "tag_id": None},
        ],
    )
    eq(last_status(), 201)
    eq(todos().select("id").eq("slug", "call-bob").single().execute().data, {"id": 3}, "merged, not re-inserted")


@check("upsert with ignore_duplicates leaves the row alone")
def _():
    before = todos().select("*").eq("slug", "buy-milk").single().execute().data
    res = todos().upsert(
        {"slug": "buy-milk", "title": "ignored", "priority": 0}, on_conflict="slug", ignore_duplicates=True
    ).execute()
    eq(res.data, [])
    eq(last_status(), 201)
    eq(todos().select("*").eq("slug", "buy-milk").single().execute().data, before)


@check("update with a filter returns the updated rows")
def _():
    res = todos().update({"done": True, "priority": 10}).eq("slug", "water-plants").select("slug, done, priority").execute()
    eq(res.data, [{"slug": "water-plants", "done": True, "priority": 10}])
    eq(last_status(), 200)


@check("update with returning=minimal is 204")
def _():
    res = todos().update({"title": "New task!"}, returning=ReturnMethod.minimal).eq("slug", "new-task").execute()
    eq(res.data, [])
    eq(last_status(), 204)
    eq(todos().select("title").eq("slug", "new-task").single().execute().data, {"title": "New task!"})


@check("delete with a filter")
def _():
    todos().delete(returning=ReturnMethod.minimal).eq("slug", "read-book").execute()
    eq(last_status(), 204)
    eq(todos().select("id").eq("slug", "read-book").maybe_single().execute(), None)


@check("delete with a filter returns the deleted rows")
def _():
    todos().insert({"slug": "tmp-1", "title": "T1", "priority": 0}, returning=ReturnMethod.minimal).execute()
    todos().insert({"slug": "tmp-2", "title": "T2", "priority": 0}, returning=ReturnMethod.minimal).execute()
    res = todos().delete().in_("slug", ["tmp-1", "tmp-2"]).select("slug").order("slug").execute()
    eq(res.data, [{"slug": "tmp-1"}, {"slug": "tmp-2"}])
    eq(last_status(), 200)
    eq(todos().select("id").like("slug", "tmp-%").execute().data, [])


@check("rpc POST of a volatile function writes")
def _():
    before = total(done=False)
    eq(db.rpc("client_finish", {"todo_slug": "call-bob"}).execute().data, before - 1)
    eq(todos().select("done").eq("slug", "call-bob").single().execute().data, {"done": True})


# ------------------------------------------------------------------ parity round 2 (issue 15): writes
# On rows of their own (slugs `count-…`, `purge-…`), removed again: the final state is unchanged.


@check("counts on writes: insert, update and delete with count=exact")
def _():
    rows = [{"slug": "count-a", "title": "A", "priority": 0}, {"slug": "count-b", "title": "B", "priority": 0}]
    res = todos().insert(rows, count=CountMethod.exact, returning=ReturnMethod.minimal).execute()
    eq((last_status(), res.count), (201, 2))
    res = todos().update({"done": True}, count=CountMethod.exact, returning=ReturnMethod.minimal).like("slug", "count-%").execute()
    eq((last_status(), res.count), (204, 2))
    eq(exchanges[-1]["responseHeaders"].get("content-range"), "0-1/2")
    res = todos().delete(count=CountMethod.exact, returning=ReturnMethod.minimal).like("slug", "count-%").execute()
    eq((last_status(), res.count), (204, 2))


@check("max-affected on an RPC: exceeding it fails with PGRST124 and rolls back")
def _():
    rows = [{"slug": s, "title": s, "priority": 0} for s in ("purge-1", "purge-2", "purge-3")]
    eq(todos().insert(rows, count=CountMethod.exact, returning=ReturnMethod.minimal).execute().count, 3)
    e = api_error(lambda: db.rpc("client_purge", {"prefix": "purge-"}).max_affected(2).execute())
    eq((e.code, e.details, last_status()), ("PGRST124", "The query affects 3 rows", 400), f"error: {e.json()}")
    eq(len(todos().select("id").like("slug", "purge-%").execute().data), 3, "rolled back")
    res = db.rpc("client_purge", {"prefix": "purge-"}).select("slug").order("slug").max_affected(3).execute()
    eq(res.data, [{"slug": "purge-1"}, {"slug": "purge-2"}, {"slug": "purge-3"}])
    eq(todos().select("id").like("slug", "purge-%").execute().data, [])


@check("final state")
def _():
    slugs = ["buy-milk", "write-report", "call-bob", "water-plants", "read-book", "new-task"]
    eq(
        todos().select("slug, done, priority").in_("slug", slugs).order("slug").execute().data,
        [
            {"slug": "buy-milk", "done": False, "priority": 9},
            {"slug": "call-bob", "done": True, "priority": 3},
            {"slug": "new-task", "done": False, "priority": 7},
            {"slug": "water-plants", "done": True, "priority": 10},
            {"slug": "write-report", "done": True, "priority": 5},
        ],
    )


print(f"postgrest-py: {passed} passed, {len(failures)} failed")
if failures:
    print("failed: " + "; ".join(failures))
    sys.exit(1)
