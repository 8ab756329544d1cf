"""Text search over transcript segments: FTS5 on SQLite, tsvector/GIN on PostgreSQL.

User text never becomes query syntax. It is cut into word tokens; on SQLite each token
becomes a double-quoted FTS5 string (so ``"``, ``*``, ``NEAR``, ``OR``, ``-`` or a column
filter are just words), on PostgreSQL the tokens go to ``plainto_tsquery`` /
``websearch_to_tsquery``. Both are bound parameters. All terms must match; when nothing
matches all of them, any term may match (ranked, so segments with more terms come first).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Connection
from sqlalchemy import text as sql_text

_TOKEN = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 32


def query_terms(query: str) -> list[str]:
    """The word tokens of ``query`` (lower-cased, de-duplicated, at most ``MAX_TERMS``)."""
    seen: dict[str, None] = {}
    for token in _TOKEN.findall(query.lower()):
        seen.setdefault(token, None)
    return list(seen)[:MAX_TERMS]


def fts5_match(terms: Sequence[str], any_term: bool = False) -> str:
    """An FTS5 MATCH expression in which every term is a quoted string, never an operator."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
    return (" OR " if any_term else " AND ").join(quoted)


_SQLITE_SEARCH = sql_text(
    "SELECT events.id, bm25(events_fts) AS rank FROM events_fts "
    "JOIN events ON events.id = events_fts.rowid "
    "WHERE events_fts MATCH :match AND events.session_id = :session_id "
    "AND events.kind = 'transcript' "
    "ORDER BY rank LIMIT :limit"
)


def _search_sqlite(
    conn: Connection, session_id: str, terms: Sequence[str], limit: int, any_term: bool
) -> list[tuple[int, float]]:
    rows = conn.execute(
        _SQLITE_SEARCH,
        {"match": fts5_match(terms, any_term), "session_id": session_id, "limit": limit},
    )
    # bm25() is lower-is-better; scores returned are higher-is-better.
    return [(int(pk), -float(rank)) for pk, rank in rows]


# One statement for both passes: rows matching every term sort first, so when any exist
# they fill the page and the rest are dropped. Ranks read the stored ``search_vector``.
_POSTGRESQL_SEARCH = sql_text(
    "SELECT id, search_vector @@ plainto_tsquery('english'::regconfig, :all_words) AS has_all, "
    "ts_rank(search_vector, websearch_to_tsquery('english'::regconfig, :any_words)) AS rank "
    "FROM events WHERE session_id = :session_id AND kind = 'transcript' "
    "AND search_vector @@ websearch_to_tsquery('english'::regconfig, :any_words) "
    "ORDER BY has_all DESC, rank DESC, start_time LIMIT :limit"
)


def _search_postgresql(
    conn: Connection, session_id: str, terms: Sequence[str], limit: int
) -> list[tuple[int, float]]:
    rows = conn.execute(
        _POSTGRESQL_SEARCH,
        {
            "all_words": " ".join(terms),
            "any_words": " or ".join(terms),
            "session_id": session_id,
            "limit": limit,
        },
    ).all()
    if rows and rows[0].has_all:
        rows = [row for row in rows if row.has_all]
    return [(int(row.id), float(row.rank)) for row in rows]


def search_segment_ids(
    conn: Connection, session_id: str, query: str, limit: int
) -> list[tuple[int, float]]:
    """``(event primary key, score)`` of the best-matching transcript segments, best first."""
    terms = query_terms(query)
    if not terms or limit <= 0:
        return []
    if conn.dialect.name != "sqlite":
        return _search_postgresql(conn, session_id, terms, limit)
    hits = _search_sqlite(conn, session_id, terms, limit, False)
    if not hits and len(terms) > 1:
        hits = _search_sqlite(conn, session_id, terms, limit, True)
    return hits


def snippet(text: str, query: str, width: int = 12) -> str:
    """``text`` around its first matching word, matches in [brackets], about ``width`` words.

    A word matches when it starts with a query term or a term starts with it (enough to
    catch the plural/stem forms the search engines match).
    """
    terms = query_terms(query)
    words = text.split()

    def matches(word: str) -> bool:
        token = "".join(_TOKEN.findall(word.lower()))
        return bool(token) and any(
            token.startswith(t[: max(3, len(t) - 2)]) or (len(token) >= 3 and t.startswith(token))
            for t in terms
        )

    marked = [f"[{w}]" if matches(w) else w for w in words]
    first = next((i for i, w in enumerate(words) if matches(w)), 0)
    lo = max(0, min(first - width // 3, len(words) - width))
    hi = min(len(words), lo + width)
    return ("… " if lo > 0 else "") + " ".join(marked[lo:hi]) + (" …" if hi < len(words) else "")
