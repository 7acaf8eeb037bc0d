//go:build !race

package office_test

const raceBuild = false
