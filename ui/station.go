package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"

	"github.com/exitlane/exitlane/lane"
)

// Station is the kiosk window's content: the driver screens, and the
// attendant admin over them after a long press on the top-left corner or
// a badge scan.
type Station struct {
	Kiosk *Kiosk
	Admin *Admin
	gate  *Gate
	root  *fyne.Container
	admin bool
}

// NewStation builds the driver and attendant screens around con.
func NewStation(con AdminConsole, gate *Gate, ko KioskOptions, ao AdminOptions) *Station {
	s := &Station{gate: gate, root: container.NewStack()}
	userAdmin, userExit := ko.OnAdmin, ao.OnExit
	ko.OnAdmin = func() {
		s.ShowAdmin("")
		if userAdmin != nil {
			userAdmin()
		}
	}
	ao.OnExit = func() {
		s.ShowKiosk()
		if userExit != nil {
			userExit()
		}
	}
	// The admin opens in the driver screens' default language, on the
	// same panel.
	if ao.Lang == "" {
		ao.Lang = ko.Lang
	}
	if ao.Panel == (Panel{}) {
		ao.Panel = ko.Panel
	}
	s.Kiosk = NewKiosk(con, ko)
	s.Admin = NewAdmin(con, gate, ao)
	s.ShowKiosk()
	return s
}

// Content is the window content.
func (s *Station) Content() fyne.CanvasObject { return s.root }

// ShowAdmin switches to the admin screen (login first). Fyne goroutine.
func (s *Station) ShowAdmin(attendant string) {
	s.admin = true
	s.Admin.Open(attendant)
	s.root.Objects = []fyne.CanvasObject{s.Admin.Content()}
	s.root.Refresh()
}

// ShowKiosk switches back to the driver screens. Fyne goroutine.
func (s *Station) ShowKiosk() {
	s.admin = false
	s.root.Objects = []fyne.CanvasObject{s.Kiosk.Content()}
	s.root.Refresh()
}

// InAdmin reports whether the admin screen is shown.
func (s *Station) InAdmin() bool { return s.admin }

// Show draws a snapshot on both screens. Fyne goroutine.
func (s *Station) Show(snap lane.Snapshot) {
	s.Kiosk.Show(snap)
	s.Admin.Show(snap)
}

// IsBadge reports whether a scanned code is an attendant's badge; if so it
// opens the admin login for that attendant (through fyne.Do) and the code
// must not reach the lane. Safe from any goroutine: the attendant list
// never changes after start.
func (s *Station) IsBadge(code string) bool {
	for _, a := range s.gate.Attendants() {
		if a.Badge != "" && a.Badge == code {
			fyne.Do(func() {
				if id, err := s.gate.Badge(s.Admin.opt.Now(), code); err == nil {
					s.ShowAdmin(id)
				}
			})
			return true
		}
	}
	return false
}

// Close stops timers and waits for pending actions.
func (s *Station) Close() {
	s.Kiosk.Close()
	s.Admin.Close()
}
