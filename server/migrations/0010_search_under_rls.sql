-- Keep search fast under row-level security.
--
-- On a table with row-level security, PostgreSQL refuses to use a
-- non-LEAKPROOF operator in an index condition, and withholds column
-- statistics from it, so no error or estimate can reveal rows of another
-- tenant. LIKE (textlike) is not marked LEAKPROOF, so after 0009 the trigram
-- index stopped serving `search_text LIKE '%term%'` and the planner guessed
-- its selectivity: a 100k-event org went from 2-4 ms to 30-50 ms per search
-- page, with a sequential scan.
--
-- textlike can fail only on a malformed pattern (a trailing escape), which
-- depends on the pattern alone, never on the row it is matched against: it
-- reveals nothing about rows, which is what LEAKPROOF promises. Marking it
-- needs a superuser; the embedded default and the tests migrate as one.
-- Elsewhere, run `ALTER FUNCTION textlike(text, text) LEAKPROOF` once as a
-- superuser, or search works correctly but without its index.
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION textlike(text, text) LEAKPROOF;
    ELSE
        RAISE NOTICE 'not a superuser: textlike stays non-LEAKPROOF and search cannot use its index under row-level security; see 0010_search_under_rls.sql';
    END IF;
END
$$;
