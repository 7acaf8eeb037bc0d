// Package ui is the kiosk's Fyne user interface: the driver screens
// (English and Arabic, touch, large type, QR), the PIN-protected attendant
// admin and the developer simulation panel.
//
// Screens are plain functions of a lane.Snapshot: the kiosk rebuilds its
// objects when a snapshot, the language or the window size changes, and
// submits driver and attendant actions through the small Actions and
// AdminConsole interfaces (a *lane.Runner in production, fakes in tests).
// Snapshots from the runner's goroutine are shown through fyne.Do. Only
// this package and package main import Fyne; tests use Fyne's test driver
// and never create the real GLFW app.
//
// Fyne does not reorder mixed right-to-left lines (fyne-io/fyne#90), so
// BidiText does it with golang.org/x/text/unicode/bidi; see bidi.go.
package ui
