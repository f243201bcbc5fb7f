/**
 * Timeout of a property test that runs 200 simulations. They take about
 * 10 s alone and three times that beside other suites on a loaded 2-core
 * machine; the timeout is there to catch a hang, not to time the simulator.
 */
export const PROPERTY_TIMEOUT_MS = 120_000;
