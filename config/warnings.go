package config

import "fmt"

// Warnings lists settings that load but will not do what they seem to
// ("exitlane config check" prints them; the lane logs them at start).
func (c *Config) Warnings() []string {
	var w []string
	if c.Tariff.Reentry > 0 {
		// A re-entry gets a new ticket with a new serial and a new entry
		// time; no ticket format carries anything of the vehicle (no plate),
		// so the exit cannot tell which earlier visit a ticket continues.
		w = append(w, fmt.Sprintf("tariff.reentry: %s is not applied at the lane: a re-entry's ticket has a new serial and "+
			"nothing of the vehicle (no plate), so the lane cannot find the visit it continues; every ticket is priced from "+
			"its own entry (\"exitlane fee --previous-entry/--previous-exit/--previous-paid\" prices a continuation by hand)",
			c.Tariff.Reentry))
	}
	return w
}
