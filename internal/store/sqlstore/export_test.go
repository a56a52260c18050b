package sqlstore

// StartKeyQuery is the start-key look-up, for the test that checks its plan.
const StartKeyQuery = startKeyQuery
