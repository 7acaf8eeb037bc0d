package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/exitlane/exitlane/assets"
)

// Colours of the kiosk: light text on a dark navy ground (legible from a
// car window, in sun or at night), amber for the primary action, clear
// red and green for refusal and success.
var (
	colBackground = color.NRGBA{0x0A, 0x1A, 0x33, 0xFF}
	colPanel      = color.NRGBA{0x13, 0x2B, 0x52, 0xFF}
	colForeground = color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
	colMuted      = color.NRGBA{0xC8, 0xD4, 0xE6, 0xFF}
	colPrimary    = color.NRGBA{0xFF, 0xC4, 0x00, 0xFF}
	colOnPrimary  = color.NRGBA{0x0A, 0x1A, 0x33, 0xFF}
	colButton     = color.NRGBA{0x24, 0x4A, 0x85, 0xFF}
	colError      = color.NRGBA{0xFF, 0x5A, 0x52, 0xFF}
	colSuccess    = color.NRGBA{0x3D, 0xDC, 0x84, 0xFF}
	colWarning    = color.NRGBA{0xFF, 0x9F, 0x1C, 0xFF}
	colQRGround   = color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
	colDisabled   = color.NRGBA{0x8C, 0x99, 0xAD, 0xFF}
)

// Theme is the kiosk's Fyne theme: large touch targets, high contrast, and
// fonts embedded from assets so that nothing depends on the fonts of the
// machine (Fyne's bundled Noto Sans has no Arabic).
type Theme struct {
	regular, bold fyne.Resource
}

// NewTheme returns the kiosk theme.
func NewTheme() *Theme {
	return &Theme{
		regular: fyne.NewStaticResource("NotoSansArabic-Regular.ttf", assets.FontRegular()),
		bold:    fyne.NewStaticResource("NotoSansArabic-Bold.ttf", assets.FontBold()),
	}
}

var _ fyne.Theme = (*Theme)(nil)

// Color implements fyne.Theme. The variant is ignored: the kiosk has one
// palette.
func (t *Theme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	switch n {
	case theme.ColorNameBackground, theme.ColorNameOverlayBackground, theme.ColorNameMenuBackground:
		return colBackground
	case theme.ColorNameForeground, theme.ColorNameForegroundOnError, theme.ColorNameForegroundOnSuccess:
		return colForeground
	case theme.ColorNamePrimary, theme.ColorNameFocus, theme.ColorNameHyperlink:
		return colPrimary
	case theme.ColorNameForegroundOnPrimary, theme.ColorNameForegroundOnWarning:
		return colOnPrimary
	case theme.ColorNameButton:
		return colButton
	case theme.ColorNameDisabledButton:
		return color.NRGBA{0x2A, 0x35, 0x48, 0xFF}
	case theme.ColorNameDisabled, theme.ColorNamePlaceHolder:
		return colDisabled
	case theme.ColorNameError:
		return colError
	case theme.ColorNameSuccess:
		return colSuccess
	case theme.ColorNameWarning:
		return colWarning
	case theme.ColorNameInputBackground, theme.ColorNameHeaderBackground:
		return colPanel
	case theme.ColorNameInputBorder, theme.ColorNameSeparator:
		return colMuted
	case theme.ColorNameHover:
		return color.NRGBA{0xFF, 0xFF, 0xFF, 0x22}
	case theme.ColorNamePressed:
		return color.NRGBA{0xFF, 0xFF, 0xFF, 0x44}
	case theme.ColorNameSelection:
		return color.NRGBA{0xFF, 0xC4, 0x00, 0x55}
	case theme.ColorNameScrollBar:
		return colMuted
	}
	return theme.DefaultTheme().Color(n, theme.VariantDark)
}

// Font implements fyne.Theme: Noto Sans Arabic (regular or bold) for text;
// Fyne falls back to its bundled Noto Sans, also embedded, for Latin letters.
func (t *Theme) Font(s fyne.TextStyle) fyne.Resource {
	if s.Monospace || s.Symbol {
		return theme.DefaultTheme().Font(s)
	}
	if s.Bold {
		return t.bold
	}
	return t.regular
}

// Icon implements fyne.Theme.
func (t *Theme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }

// Size implements fyne.Theme with large touch sizes.
func (t *Theme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameText:
		return 24
	case theme.SizeNameHeadingText:
		return 44
	case theme.SizeNameSubHeadingText:
		return 32
	case theme.SizeNameCaptionText:
		return 18
	case theme.SizeNamePadding:
		return 6
	case theme.SizeNameInnerPadding:
		return 16
	case theme.SizeNameInlineIcon:
		return 32
	case theme.SizeNameScrollBar:
		return 24
	case theme.SizeNameScrollBarSmall:
		return 12
	case theme.SizeNameInputBorder:
		return 3
	case theme.SizeNameInputRadius, theme.SizeNameSelectionRadius:
		return 8
	case theme.SizeNameSeparatorThickness:
		return 2
	}
	return theme.DefaultTheme().Size(n)
}
