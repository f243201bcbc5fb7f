import type { TableNames } from './table-names';

/** A named (prepared once per connection) statement. */
export interface Statement {
  name: string;
  text: string;
}

/** The SQL of a store's hot paths. */
export interface Statements {
  /**
   * `$1` team, `$2` operation ids, `$3` medal types, `$4` fingerprints, all
   * distinct ids → one `{ operation_id, replayed, fingerprint, result }` row
   * per id: the new ones applied in array order with the tally right after
   * each, the known ones with what they were first applied with.
   */
  incrementBatch: Statement;
  /** `$1` operation id, `$2` event, `$3` teams, `$4` scores, `$5` fingerprint → one row as `incrementBatch`'s. */
  setScore: Statement;
  /** `$1` teams → `{ team, gold, silver, bronze }` rows. */
  readTallies: Statement;
  /** `$1` events → `{ event, team, score }` rows. */
  readScores: Statement;
  /** `$1` retention: forgets all but the newest operation ids. */
  prune: Statement;
}

/** The statements over the tables `t`. */
// Each write is one statement, so one round trip and its own transaction: the writes, the
// remembered operation ids and their results commit together or not at all. A concurrent
// write of the same id elsewhere makes the statement fail on the operations table's primary
// key; it is retried and then finds the other's row in `prior`.
export function statements(t: TableNames): Statements {
  return {
    // `later` counts the batch's increments after each one, so the tally right after an
    // increment is the final tally minus them.
    incrementBatch: {
      name: 'medals_increment_batch',
      text: `
        WITH input AS (
          SELECT * FROM unnest($2::text[], $3::text[], $4::text[])
            WITH ORDINALITY AS i(operation_id, medal, fingerprint, ord)
        ), prior AS (
          SELECT o.operation_id, o.fingerprint, o.result
          FROM ${t.operations} AS o JOIN input USING (operation_id)
        ), fresh AS (
          SELECT * FROM input WHERE operation_id NOT IN (SELECT operation_id FROM prior)
        ), totals AS (
          SELECT count(*) FILTER (WHERE medal = 'gold') AS gold,
                 count(*) FILTER (WHERE medal = 'silver') AS silver,
                 count(*) FILTER (WHERE medal = 'bronze') AS bronze
          FROM fresh
        ), applied AS (
          UPDATE ${t.tallies} AS tally
          SET gold = tally.gold + totals.gold,
              silver = tally.silver + totals.silver,
              bronze = tally.bronze + totals.bronze
          FROM totals
          WHERE tally.team = $1 AND totals.gold + totals.silver + totals.bronze > 0
          RETURNING tally.gold, tally.silver, tally.bronze
        ), results AS (
          SELECT fresh.operation_id, fresh.fingerprint, fresh.ord,
                 jsonb_build_object(
                   'team', $1::text,
                   'gold', applied.gold - count(*) FILTER (WHERE fresh.medal = 'gold') OVER later,
                   'silver', applied.silver - count(*) FILTER (WHERE fresh.medal = 'silver') OVER later,
                   'bronze', applied.bronze - count(*) FILTER (WHERE fresh.medal = 'bronze') OVER later
                 ) AS result
          FROM fresh CROSS JOIN applied
          WINDOW later AS (ORDER BY fresh.ord DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        ), remembered AS (
          INSERT INTO ${t.operations} (operation_id, fingerprint, result)
          SELECT operation_id, fingerprint, result FROM results ORDER BY ord
          RETURNING operation_id, result
        )
        SELECT operation_id, false AS replayed, NULL::text AS fingerprint, result FROM remembered
        UNION ALL
        SELECT operation_id, true, fingerprint, result FROM prior`,
    },
    // Every row of the event is updated (most to their own value) so that all are locked
    // and the result is the event's scores right after this write.
    setScore: {
      name: 'medals_set_score',
      text: `
        WITH prior AS (
          SELECT fingerprint, result FROM ${t.operations} WHERE operation_id = $1
        ), applied AS (
          UPDATE ${t.scores} AS s
          SET score = COALESCE(
            (SELECT v.score FROM unnest($3::text[], $4::bigint[]) AS v(team, score) WHERE v.team = s.team),
            s.score)
          WHERE s.event = $2 AND NOT EXISTS (SELECT 1 FROM prior)
          RETURNING s.team, s.score
        ), remembered AS (
          INSERT INTO ${t.operations} (operation_id, fingerprint, result)
          SELECT $1, $5, jsonb_build_object('event', $2::text, 'scores', jsonb_object_agg(team, score))
          FROM applied
          HAVING count(*) > 0
          RETURNING result
        )
        SELECT false AS replayed, NULL::text AS fingerprint, result FROM remembered
        UNION ALL
        SELECT true, fingerprint, result FROM prior`,
    },
    readTallies: {
      name: 'medals_read_tallies',
      text: `SELECT team, gold, silver, bronze FROM ${t.tallies} WHERE team = ANY($1::text[])`,
    },
    readScores: {
      name: 'medals_read_scores',
      text: `SELECT event, team, score FROM ${t.scores} WHERE event = ANY($1::text[])`,
    },
    prune: {
      name: 'medals_prune_operations',
      text: `DELETE FROM ${t.operations} WHERE seq <= (SELECT max(seq) FROM ${t.operations}) - $1`,
    },
  };
}
