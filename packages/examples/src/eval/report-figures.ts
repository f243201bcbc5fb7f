/**
 * The figures of the report we re-run (../shared/seeds, "Performance
 * Evaluation"), measured with Python on a 4-core i7-3610QM, printed beside
 * ours. The report gives no unit for Table 1; Table 2 says ms, and both
 * tables come from the same harness, so both are read as ms.
 */

/** Table 1: latency per request by concurrent clients, single-tier and two-tier. */
export const reportTable1: Readonly<Record<number, { singleTier: number; twoTier: number }>> = {
  5: { singleTier: 0.41, twoTier: 0.55 },
  8: { singleTier: 0.4, twoTier: 0.59 },
  // Printed as "0.0.56" in the report.
  10: { singleTier: 0.41, twoTier: 0.56 },
};

/** Table 2: latency per request by number of front-ends. */
export const reportTable2: Readonly<Record<number, number>> = {
  1: 0.55,
  2: 0.53,
  4: 0.52,
  8: 0.52,
  16: 0.53,
};

/** The report's clock demo: initial offsets in seconds of the two front-ends and the db. */
export const reportClockOffsetsS: Readonly<Record<string, number>> = { fe1: 2, fe2: 1, db: 7 };
