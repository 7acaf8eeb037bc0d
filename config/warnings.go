package config

import (
	"fmt"
	"regexp"
)

// Warnings lists settings that load but will not do what they seem to
// ("exitlane config check" prints them; the lane logs them at start).
func (c *Config) Warnings() []string {
	var w []string
	if c.Tariff.Reentry > 0 && c.Ticket.Format == "pattern" && !patternHasPlate(c.Ticket.Pattern) {
		// A re-entry gets a new ticket with a new serial and a new entry
		// time; without a plate in the code the lane cannot tell which
		// earlier visit a ticket continues by itself. Signed codes can
		// carry one (EL3), so only a pattern without a plate group warns.
		w = append(w, fmt.Sprintf("tariff.reentry: %s: the ticket pattern has no plate group ((?P<plate>...)), so the lane "+
			"cannot match a re-entry by itself: only the attendant's \"Re-entry of ticket\" action (the driver shows the earlier "+
			"ticket or receipt) continues a stay",
			c.Tariff.Reentry))
	}
	return w
}

// patternHasPlate reports whether a ticket pattern has the named group
// "plate".
func patternHasPlate(expr string) bool {
	re, err := regexp.Compile(expr)
	return err == nil && re.SubexpIndex("plate") >= 0
}
