package office

import "golang.org/x/crypto/bcrypt"

// The tests hash many passwords: bcrypt's cheapest cost keeps them quick
// (the cost is no part of what they check).
func init() { bcryptCost = bcrypt.MinCost }
