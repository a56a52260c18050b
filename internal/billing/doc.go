// Package billing is the rating engine of EVCS: the OCPI 2.2.1 Tariff model and a pure
// function, Price, that computes the cost fields of an OCPI 2.2.1 CDR. No I/O, no clock,
// no float: prices, volumes and amounts are exact decimals (github.com/govalues/decimal).
//
// # Rules (OCPI 2.2.1, mod_tariffs.asciidoc unless noted)
//
//   - Element choice, per charging period and per dimension: the first element in list order
//     whose restrictions all hold and that has a component of that dimension (Tariff object:
//     "the first Tariff Element with that Dimension in the list with matching Tariff
//     Restrictions will be used"). None: that dimension is free in that period.
//   - Restrictions are evaluated at the start of each period (mod_cdrs: the CPO "SHALL add a
//     new Charging Period" whenever another element becomes active): time of day, date and
//     day of week in the location's zone (start_time inclusive, end_time exclusive, end before
//     start = window across midnight, equal = whole day; start_date inclusive, end_date
//     exclusive); min_kwh/max_kwh against the energy charged before the period;
//     min_duration/max_duration against the time since the CDR's start_date_time (min
//     inclusive, max exclusive); min_current/min_power against the period's MIN_CURRENT /
//     MIN_POWER (else CURRENT / POWER), inclusive; max_current/max_power against MAX_CURRENT /
//     MAX_POWER (else CURRENT / POWER), exclusive (the max_power example's 16.00/32.00 bands).
//   - ENERGY: price per kWh × the period's ENERGY volume. TIME: per hour × the period's TIME
//     volume ("Time charging"). PARKING_TIME: per hour × PARKING_TIME volume ("Time not
//     charging"). Time volumes are turned into whole seconds (half-up): step sizes are in
//     seconds and OCPI numbers carry 4 decimals, so 0.1667 h is 600 s, not 600.12 s.
//   - step_size (PriceComponent notes and the "switching to different Tariff Element"
//     examples): applied to the total of the dimension, billed at the price of the LAST
//     element used; the step is applied when the session ends, or earlier when a period uses
//     the dimension but no element prices it ("switching to Free-of-Charge Tariff Element").
//     ENERGY steps are Wh, time steps seconds.
//   - FLAT: once per session, from the first element with a FLAT component whose restrictions
//     hold, at the earliest period where one does (for an unrestricted start fee: at the
//     session's start). Goes to total_fixed_cost.
//   - Reservations (TariffRestrictions.reservation, ReservationRestrictionType): periods with a
//     RESERVATION_TIME dimension are priced only by elements with a reservation restriction
//     (their TIME and FLAT components), other periods only by elements without one. A CDR with
//     reservation time but no TIME, PARKING_TIME or energy is an expired reservation:
//     RESERVATION_EXPIRES elements are then preferred (note under ReservationRestrictionType),
//     and the session FLAT is not charged. All of it goes to total_reservation_cost ("including
//     fixed price components", mod_cdrs).
//   - VAT per component: incl = excl × (1 + vat/100). vat absent means "no VAT applicable",
//     different from 0 %, and the "First hour free energy" example says the incl. VAT total
//     cannot then be computed: any total to which a component without vat contributed a
//     non-zero amount has no incl_vat (omitted from JSON).
//   - min_price / max_price (notes on the Tariff object: "they both apply"): the total excl.
//     VAT is raised to min_price.excl_vat / capped at max_price.excl_vat, and the total incl.
//     VAT likewise with incl_vat. When a bound without incl_vat moved the excl. VAT total, the
//     incl. VAT total is unknown and omitted. Only total_cost is adjusted: the part totals
//     stay what was consumed, so after a min/max adjustment they do not add up to total_cost.
//   - Tariff validity: a session starting before start_date_time or after end_date_time is an
//     error (the driver accepts the tariff valid when the session starts).
//
// # Rounding
//
// Everything is computed unrounded (19 significant digits); each reported amount
// (total_cost and every total_*_cost, excl and incl) is rounded once, half-up, to the
// currency's minor unit (money.RoundHalfUp). total_cost is rounded from the unrounded sum of
// the parts, so it can differ by a minor unit from the sum of the rounded parts (OCPI's own
// complex example: 2.875 + 3.00 + 4.125 = 10.00, while 2.88 + 3.00 + 4.13 = 10.01).
// total_energy and total_parking_time are the sums of the CDR's volumes (exact);
// total_time is end_date_time − start_date_time in hours, half-up to 4 decimals.
//
// # Decisions where the specification is silent or inconsistent
//
//   - The step_size example #1 says 2 minutes of parking are not billed because they fall in
//     the 5 extra minutes of rounded-up charging time; the complex example bills 45 minutes
//     of parking after 147 minutes of charging rounded up to 150, i.e. no such absorption.
//     Dimensions are stepped independently here (as in the complex and 3 €/h examples).
//   - A period's tariff_id other than the tariff being applied is an error rather than a
//     silently free period; an absent tariff_id means this tariff.
//   - A current or power restriction that a period has no value for does not hold.
//   - The "Tariff example with alternative URL" states 5.50 for 20.5 kWh × 0.25; the correct
//     5.125 (→ 5.13) is used and tested (its 0.22 variant, 4.51, confirms 20.5 kWh).
package billing
