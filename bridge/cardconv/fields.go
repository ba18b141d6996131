package cardconv

import (
	"net/mail"
	"sort"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/items"
)

// A slot is where one EAS text element lives in a card: a line, and for
// structured values (N, ORG, ADR) a component of it. assign computes every
// slot once per parsed card; reading takes values from the slots and the
// merge writes to the same lines, so a value goes back where it came from.
type slot struct {
	comp int       // component of a structured value, -1 for the whole value
	kind valueKind // how the value is escaped
	// newLine creates the line for a card that has none (v4 tells the
	// card's version); it returns the property prefix and initial value.
	newLine func(v4 bool) (prefix, value string)
	// group lists the fields that share the line (N, ORG and each ADR), so
	// a new line is registered for all of them.
	group []items.ContactField
}

type valueKind int

const (
	kindText  valueKind = iota // escaped text
	kindEmail                  // text; display names and mailto: stripped
	kindTel                    // text or tel: URI
	kindURI                    // raw URI, not escaped
)

func fixed(prefix string) func(bool) (string, string) {
	return func(bool) (string, string) { return prefix, "" }
}

func byVersion(v3, v4 string) func(bool) (string, string) {
	return func(is4 bool) (string, string) {
		if is4 {
			return v4, ""
		}
		return v3, ""
	}
}

var (
	nameFields = []items.ContactField{items.ContactLastName, items.ContactFirstName,
		items.ContactMiddleName, items.ContactTitle, items.ContactSuffix}
	orgFields = []items.ContactField{items.ContactCompanyName, items.ContactDepartment}
	emails    = []items.ContactField{items.ContactEmail1, items.ContactEmail2, items.ContactEmail3}
	ims       = []items.ContactField{items.ContactIMAddress, items.ContactIMAddress2, items.ContactIMAddress3}
)

// addrKind is one of the three EAS postal addresses; fields are Street,
// City, State, PostalCode, Country, which are ADR components 2-6.
type addrKind struct {
	typ    string // vCard TYPE, "" for other
	fields []items.ContactField
}

var addrKinds = []addrKind{
	{"home", []items.ContactField{items.ContactHomeStreet, items.ContactHomeCity,
		items.ContactHomeState, items.ContactHomePostalCode, items.ContactHomeCountry}},
	{"work", []items.ContactField{items.ContactBusinessStreet, items.ContactBusinessCity,
		items.ContactBusinessState, items.ContactBusinessPostal, items.ContactBusinessCountry}},
	{"", []items.ContactField{items.ContactOtherStreet, items.ContactOtherCity,
		items.ContactOtherState, items.ContactOtherPostalCode, items.ContactOtherCountry}},
}

// phoneSlot is an EAS phone element, the TYPE values of a new line, and
// what an existing TEL line must carry to fill it.
type phoneSlot struct {
	field items.ContactField
	types string // TYPE of a new line
	match func(t map[string]bool) bool
}

func has(t map[string]bool, names ...string) bool {
	for _, n := range names {
		if t[n] {
			return true
		}
	}
	return false
}

// phoneSlots in the order lines are matched: the specific kinds first, so a
// home fax does not take the home slot. RFC 6350 6.4.1 / RFC 2426 3.3.1
// types; Apple writes iPhone and MAIN, Evolution x-assistant and x-radio.
var phoneSlots = []phoneSlot{
	{items.ContactHomeFax, "home,fax", func(t map[string]bool) bool { return t["fax"] && t["home"] }},
	{items.ContactBusinessFax, "work,fax", func(t map[string]bool) bool { return t["fax"] }},
	{items.ContactPager, "pager", func(t map[string]bool) bool { return t["pager"] }},
	{items.ContactCarPhone, "car", func(t map[string]bool) bool { return t["car"] }},
	{items.ContactAssistantPhone, "x-assistant", func(t map[string]bool) bool { return has(t, "x-assistant", "assistant") }},
	{items.ContactRadioPhone, "x-radio", func(t map[string]bool) bool { return has(t, "x-radio", "radio") }},
	{items.ContactCompanyMainPhone, "main", func(t map[string]bool) bool { return has(t, "main", "x-main") }},
	{items.ContactMobilePhone, "cell", func(t map[string]bool) bool { return has(t, "cell", "iphone", "mobile") }},
	{items.ContactMMS, "text", func(t map[string]bool) bool { return has(t, "text", "msg", "x-mms") }},
	{items.ContactHomePhone, "home", func(t map[string]bool) bool { return t["home"] }},
	{items.ContactHome2Phone, "home", func(t map[string]bool) bool { return t["home"] }},
	{items.ContactBusinessPhone, "work", func(t map[string]bool) bool { return t["work"] }},
	{items.ContactBusiness2Phone, "work", func(t map[string]bool) bool { return t["work"] }},
	// An untyped or voice-only number still reaches the device.
	{items.ContactHome2Phone, "home", func(map[string]bool) bool { return true }},
	{items.ContactBusiness2Phone, "work", func(map[string]bool) bool { return true }},
}

// Apple keeps related names in grouped X-ABRELATEDNAMES lines labelled
// with these; Evolution and others use the X- properties.
const (
	appleSpouse    = "_$!<Spouse>!$_"
	appleManager   = "_$!<Manager>!$_"
	appleAssistant = "_$!<Assistant>!$_"
	appleChild     = "_$!<Child>!$_"
	appleAnniv     = "_$!<Anniversary>!$_"
)

// slots describes every text element the conversion maps.
var slots = map[items.ContactField]slot{
	items.ContactFileAs:          {comp: -1, newLine: fixed("FN")},
	items.ContactNickName:        {comp: -1, newLine: fixed("NICKNAME")},
	items.ContactYomiFirstName:   {comp: -1, newLine: fixed("X-PHONETIC-FIRST-NAME")},
	items.ContactYomiLastName:    {comp: -1, newLine: fixed("X-PHONETIC-LAST-NAME")},
	items.ContactYomiCompanyName: {comp: -1, newLine: fixed("X-PHONETIC-ORG")},
	// MS-ASCNTC 2.2.2.42 JobTitle is the job; TITLE, not ROLE (Z-Push's bug).
	items.ContactJobTitle:       {comp: -1, newLine: fixed("TITLE")},
	items.ContactOfficeLocation: {comp: -1, newLine: fixed("X-OFFICE")},
	items.ContactManagerName:    {comp: -1, newLine: fixed("X-MANAGER")},
	items.ContactAssistantName:  {comp: -1, newLine: fixed("X-ASSISTANT")},
	// RFC 6350 6.6.6 RELATED;TYPE=spouse, as text (the default is a URI).
	items.ContactSpouse:  {comp: -1, newLine: byVersion("X-SPOUSE", "RELATED;TYPE=spouse;VALUE=text")},
	items.ContactWebPage: {comp: -1, kind: kindURI, newLine: fixed("URL")},
}

func init() {
	for i, f := range nameFields {
		slots[f] = slot{comp: i, group: nameFields, newLine: func(bool) (string, string) { return "N", ";;;;" }}
	}
	for i, f := range orgFields {
		slots[f] = slot{comp: i, group: orgFields, newLine: func(bool) (string, string) { return "ORG", ";" }}
	}
	for _, a := range addrKinds {
		prefix := "ADR"
		if a.typ != "" {
			prefix += ";TYPE=" + a.typ
		}
		for i, f := range a.fields {
			slots[f] = slot{comp: i + 2, group: a.fields, newLine: func(bool) (string, string) { return prefix, ";;;;;;" }}
		}
	}
	for _, f := range emails {
		slots[f] = slot{comp: -1, kind: kindEmail, newLine: byVersion("EMAIL;TYPE=INTERNET", "EMAIL")}
	}
	for _, p := range phoneSlots {
		if _, dup := slots[p.field]; !dup {
			slots[p.field] = slot{comp: -1, kind: kindTel, newLine: fixed("TEL;TYPE=" + p.types)}
		}
	}
	for _, f := range ims {
		slots[f] = slot{comp: -1, kind: kindURI, newLine: fixed("IMPP")}
	}
}

// slotFields is every mapped text element in a stable order.
func slotFields() []items.ContactField {
	var out []items.ContactField
	for _, f := range items.ContactFields() {
		if _, ok := slots[f]; ok {
			out = append(out, f)
		}
	}
	return out
}

func (d *cardDoc) typesOf(l *cardLine) map[string]bool {
	t := map[string]bool{}
	for _, v := range l.params["TYPE"] {
		for _, p := range strings.Split(v, ",") {
			t[strings.ToLower(strings.TrimSpace(p))] = true
		}
	}
	return t
}

// pref orders EMAIL lines: v4 PREF=1..100 (lower first), v3 TYPE=pref
// first; otherwise card order (RFC 6350 5.3, RFC 2426 3.3.2).
func (d *cardDoc) pref(l *cardLine) int {
	if p := l.params.Get("PREF"); p != "" {
		if n, err := strconv.Atoi(p); err == nil && n >= 1 && n <= 100 {
			return n
		}
	}
	if d.typesOf(l)["pref"] {
		return 1
	}
	return 101
}

// assign fills d.slots from the card's lines.
func (d *cardDoc) assign() {
	d.slots = map[items.ContactField]*cardLine{}
	first := func(f items.ContactField, ls ...*cardLine) {
		for _, l := range ls {
			if l != nil {
				d.slots[f] = l
				return
			}
		}
	}
	one := func(name string) *cardLine {
		if ls := d.named(name); len(ls) > 0 {
			return ls[0]
		}
		return nil
	}
	first(items.ContactFileAs, one("FN"))
	first(items.ContactNickName, one("NICKNAME"))
	first(items.ContactYomiFirstName, one("X-PHONETIC-FIRST-NAME"))
	first(items.ContactYomiLastName, one("X-PHONETIC-LAST-NAME"))
	first(items.ContactYomiCompanyName, one("X-PHONETIC-ORG"))
	first(items.ContactJobTitle, one("TITLE"), one("ROLE"))
	first(items.ContactOfficeLocation, one("X-OFFICE"))
	first(items.ContactWebPage, one("URL"))
	first(items.ContactManagerName, d.related("", appleManager, "X-MANAGER"))
	first(items.ContactAssistantName, d.related("", appleAssistant, "X-ASSISTANT"))
	first(items.ContactSpouse, d.related("spouse", appleSpouse, "X-SPOUSE"))
	if n := one("N"); n != nil {
		for _, f := range nameFields {
			d.slots[f] = n
		}
	}
	if o := one("ORG"); o != nil {
		for _, f := range orgFields {
			d.slots[f] = o
		}
	}
	d.assignAddresses()
	mails := d.named("EMAIL")
	sort.SliceStable(mails, func(i, j int) bool { return d.pref(mails[i]) < d.pref(mails[j]) })
	for i := 0; i < len(mails) && i < len(emails); i++ {
		d.slots[emails[i]] = mails[i]
	}
	var imLines []*cardLine
	for _, n := range []string{"IMPP", "X-JABBER", "X-AIM", "X-SKYPE", "X-ICQ", "X-MSN", "X-YAHOO", "X-GOOGLE-TALK"} {
		imLines = append(imLines, d.named(n)...)
	}
	for i := 0; i < len(imLines) && i < len(ims); i++ {
		d.slots[ims[i]] = imLines[i]
	}
	for _, l := range d.named("TEL") {
		t := d.typesOf(l)
		for _, p := range phoneSlots {
			if _, taken := d.slots[p.field]; !taken && p.match(t) {
				d.slots[p.field] = l
				break
			}
		}
	}
}

func (d *cardDoc) assignAddresses() {
	var spare []*cardLine
	for _, l := range d.named("ADR") {
		t := d.typesOf(l)
		placed := false
		for _, a := range addrKinds {
			if a.typ != "" && t[a.typ] {
				if _, taken := d.slots[a.fields[0]]; !taken {
					d.setGroup(a.fields, l)
					placed = true
				}
				break
			}
		}
		if !placed {
			spare = append(spare, l)
		}
	}
	if _, taken := d.slots[addrKinds[2].fields[0]]; !taken && len(spare) > 0 {
		d.setGroup(addrKinds[2].fields, spare[0])
	}
}

func (d *cardDoc) setGroup(fields []items.ContactField, l *cardLine) {
	for _, f := range fields {
		d.slots[f] = l
	}
}

// related finds a related name: v4 RELATED with that TYPE, an Apple
// X-ABRELATEDNAMES with that label, or the X- property.
func (d *cardDoc) related(typ, label, xname string) *cardLine {
	for _, l := range d.lines {
		if l.gone {
			continue
		}
		switch {
		case typ != "" && l.name == "RELATED" && d.typesOf(l)[typ]:
			return l
		case l.name == "X-ABRELATEDNAMES" && d.label(l) == label:
			return l
		case l.name == xname:
			return l
		}
	}
	return nil
}

// read returns the value of a slot's line as the device should see it.
func (d *cardDoc) read(f items.ContactField) string {
	l, s := d.slots[f], slots[f]
	if l == nil || l.gone {
		return ""
	}
	if s.comp >= 0 {
		parts := splitEscaped(l.value, ';')
		if s.comp >= len(parts) {
			return ""
		}
		return strings.TrimSpace(unescapeText(parts[s.comp]))
	}
	switch s.kind {
	case kindURI:
		return strings.TrimSpace(l.value)
	case kindEmail:
		return bareEmail(unescapeText(l.value))
	case kindTel:
		return strings.TrimSpace(strings.TrimPrefix(unescapeText(l.value), "tel:"))
	}
	return strings.TrimSpace(unescapeText(l.value))
}

// bareEmail strips a display name and mailto: (Z-Push does the same; iOS
// sends "Name" <a@b> in Email1Address).
func bareEmail(s string) string {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "mailto:"))
	if strings.ContainsAny(s, "<>\"") {
		if a, err := mail.ParseAddress(s); err == nil {
			return a.Address
		}
	}
	return s
}

// write stores v in a slot: edits the line, creates it, or removes it when
// v is empty (a structured line only when all its components are empty).
func (d *cardDoc) write(f items.ContactField, v string) {
	s := slots[f]
	l := d.slots[f]
	if l == nil || l.gone {
		if v == "" {
			return
		}
		prefix, value := s.newLine(d.v4())
		l = d.add(prefix, value)
		if s.group != nil {
			d.setGroup(s.group, l)
		} else {
			d.slots[f] = l
		}
	}
	if s.comp >= 0 {
		parts := splitEscaped(l.value, ';')
		for len(parts) <= s.comp {
			parts = append(parts, "")
		}
		parts[s.comp] = escapeText(v)
		empty := true
		for _, p := range parts {
			if p != "" {
				empty = false
			}
		}
		if empty && l.name != "N" { // N is required in v3 (RFC 2426 3.1.2)
			d.drop(l)
			return
		}
		l.set(strings.Join(parts, ";"))
		return
	}
	if v == "" {
		d.drop(l)
		return
	}
	switch s.kind {
	case kindURI:
		l.set(v)
	case kindTel:
		if strings.HasPrefix(l.value, "tel:") {
			l.set("tel:" + v)
		} else {
			l.set(escapeText(v))
		}
	default:
		l.set(escapeText(v))
	}
}

// drop removes a line and forgets every slot that pointed at it.
func (d *cardDoc) drop(l *cardLine) {
	d.remove(l)
	for f, o := range d.slots {
		if o == l {
			delete(d.slots, f)
		}
	}
}
