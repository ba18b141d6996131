package items

import (
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// EmailChange is the flags-only ApplicationData of a Sync <Change> for an
// email, in both directions: the server tells a device that a message was
// read, flagged or recategorised, and a device tells the server the same.
// nil fields were not mentioned and are left alone.
type EmailChange struct {
	Read *bool
	Flag *Flag
	// LastVerbExecuted (MS-ASEMAIL 2.2.2.44) is 14.0+ and server-sent only.
	LastVerbExecuted *int
	// Categories: nil absent; a non-nil empty slice removes all of them
	// (14.0+).
	Categories []string
}

// Encode returns the ApplicationData element of the Change.
func (c *EmailChange) Encode(v Version) *wbxml.Element {
	app := wbxml.New(wbxml.AirSync, "ApplicationData")
	if c.Read != nil {
		emailRead.text(app, btoa(*c.Read))
	}
	if c.Flag != nil {
		c.Flag.encode(app)
	}
	if v >= V140 {
		if c.LastVerbExecuted != nil {
			email2LastVerbExecuted.text(app, itoa(*c.LastVerbExecuted))
		}
		if c.Categories != nil {
			encodeEmailCategories(app, c.Categories)
		}
	}
	return app
}

// DecodeEmailChange reads a device's flags change. It never fails: a
// device marks mail read or flagged with values this server has always
// read leniently, so Read is true only for "1", a FlagStatus that is not
// a number is "cleared", and blank category names are dropped. The error
// is there for the decoder's contract; it is always nil.
func DecodeEmailChange(app *wbxml.Element, _ Version) (*EmailChange, error) {
	c := &EmailChange{}
	if app == nil {
		return c, nil
	}
	if r := emailRead.child(app); r != nil {
		c.Read = Ptr(strings.TrimSpace(r.Content()) == "1")
	}
	if f := emailFlag.child(app); f != nil {
		fl := &Flag{}
		if n, err := strconv.Atoi(strings.TrimSpace(emailFlagStatus.child(f).Content())); err == nil && n >= 0 {
			fl.Status = n
		}
		if fl.Status != FlagCleared {
			fl.Type = text(emailFlagType.child(f))
		}
		c.Flag = fl
	}
	if el := emailCategories.child(app); el != nil {
		c.Categories = []string{}
		for _, cat := range emailCategory.all(el) {
			if s := strings.TrimSpace(text(cat)); s != "" {
				c.Categories = append(c.Categories, s)
			}
		}
	}
	return c, nil
}
