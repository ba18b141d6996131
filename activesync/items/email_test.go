package items

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func sampleEmail() *Email {
	return &Email{
		To: `"Bob" <bob@example.test>`, Cc: "carol@example.test", From: "alice@example.test", Subject: "Re: Lunch",
		ReplyTo: "list@example.test", DateReceived: time.Date(2026, 3, 12, 8, 0, 0, 0, time.FixedZone("CET", 3600)),
		DisplayTo: "Bob", ThreadTopic: "Lunch", Importance: ImportanceHigh, Read: true,
		Attachments: []Attachment{
			{DisplayName: "a.pdf", FileReference: "7:1042:2", Method: 1, EstimatedDataSize: 1234},
			{DisplayName: "logo.png", FileReference: "7:1042:3", Method: 1, EstimatedDataSize: 99, ContentID: "logo@x", IsInline: true},
		},
		Body:         &EmailBody{Type: BodyHTML, EstimatedDataSize: 5000, Truncated: true, Data: Ptr("<p>hi</p>"), Preview: "hi"},
		MessageClass: "IPM.Note", InternetCPID: InternetCPIDUTF8, Flag: Flag{Status: FlagActive, Type: "for Follow Up"},
		ContentClass: ContentClassMail, NativeBodyType: BodyHTML,
		ConversationID: []byte{1, 0, 2}, ConversationIndex: []byte{0, 9, 8, 7, 6},
		LastVerbExecuted: 1, Sender: "secretary@example.test", Categories: []string{"Work", "Büro"}, IsDraft: true,
	}
}

func names(el *wbxml.Element) string {
	var out []string
	for _, c := range el.Children {
		out = append(out, c.Space+":"+c.Name)
	}
	return strings.Join(out, " ")
}

// mustRoundTrip proves an element is sendable: it encodes, and decodes to
// the same tree.
func mustRoundTrip(t *testing.T, el *wbxml.Element) *wbxml.Element {
	t.Helper()
	b, err := wbxml.Encode(el)
	if err != nil {
		t.Fatalf("encode: %v\n%s", err, el.XML())
	}
	back, err := wbxml.Decode(b, wbxml.Limits{})
	if err != nil || !back.Equal(el) {
		t.Fatalf("round trip changed the element (%v)", err)
	}
	return back
}

func TestEmailEncodeOrderPerVersion(t *testing.T) {
	base := "Email:To Email:Cc Email:From Email:Subject Email:ReplyTo Email:DateReceived Email:DisplayTo Email:ThreadTopic " +
		"Email:Importance Email:Read AirSyncBase:Attachments AirSyncBase:Body Email:MessageClass Email:InternetCPID " +
		"Email:Flag Email:ContentClass AirSyncBase:NativeBodyType"
	email2 := " Email2:ConversationId Email2:ConversationIndex Email2:LastVerbExecuted Email2:Sender Email:Categories"
	for v, want := range map[Version]string{
		V121: base, V140: base + email2, V141: base + email2, V160: base + email2 + " Email2:IsDraft", V161: base + email2 + " Email2:IsDraft",
	} {
		app := sampleEmail().Encode(v)
		if got := names(app); got != want {
			t.Errorf("%d:\n got %s\nwant %s", v, got, want)
		}
		mustRoundTrip(t, app)
		if d := app.ChildText(wbxml.Email, "DateReceived"); d != "2026-03-12T07:00:00.000Z" {
			t.Errorf("%d: DateReceived %q, want UTC dateTime", v, d)
		}
		body := app.Child(wbxml.AirSyncBase, "Body")
		wantBody := "AirSyncBase:Type AirSyncBase:EstimatedDataSize AirSyncBase:Truncated AirSyncBase:Data"
		if v >= V140 {
			wantBody += " AirSyncBase:Preview" // MS-ASAIRS 2.2.2.37: 14.0+
		}
		if got := names(body); got != wantBody {
			t.Errorf("%d: body %s", v, got)
		}
	}
	app := sampleEmail().Encode(V141)
	if id := app.Child(wbxml.Email2, "ConversationId"); !id.IsOpaque || string(id.Opaque) != "\x01\x00\x02" {
		t.Errorf("ConversationId must be opaque bytes: %+v", id)
	}
	atts := app.Child(wbxml.AirSyncBase, "Attachments").Children
	if len(atts) != 2 || names(atts[0]) != "AirSyncBase:DisplayName AirSyncBase:FileReference AirSyncBase:Method AirSyncBase:EstimatedDataSize" ||
		names(atts[1]) != "AirSyncBase:DisplayName AirSyncBase:FileReference AirSyncBase:Method AirSyncBase:EstimatedDataSize AirSyncBase:ContentId AirSyncBase:IsInline" {
		t.Errorf("attachments:\n%s", app.Child(wbxml.AirSyncBase, "Attachments").XML())
	}
	if f := app.Child(wbxml.Email, "Flag"); names(f) != "Email:FlagStatus Email:FlagType" || f.ChildText(wbxml.Email, "FlagStatus") != "2" {
		t.Errorf("flag:\n%s", f.XML())
	}
}

// TestEmailEncodeOmitsOptional: the fields every item carries are written
// even empty; the optional ones vanish when zero.
func TestEmailEncodeOmitsOptional(t *testing.T) {
	m := &Email{Body: &EmailBody{Type: BodyPlain}}
	app := m.Encode(V161)
	want := "Email:To Email:From Email:Subject Email:DateReceived Email:DisplayTo Email:ThreadTopic Email:Importance Email:Read " +
		"AirSyncBase:Body Email:MessageClass Email:InternetCPID Email:Flag Email:ContentClass AirSyncBase:NativeBodyType " +
		"Email2:ConversationId Email2:ConversationIndex Email2:IsDraft"
	if got := names(app); got != want {
		t.Errorf("got %s", got)
	}
	if f := app.Child(wbxml.Email, "Flag"); len(f.Children) != 0 {
		t.Errorf("a cleared flag must be the empty element: %s", f.XML())
	}
	// No Data at all (AllOrNone not satisfiable) differs from empty Data.
	if got := names(app.Child(wbxml.AirSyncBase, "Body")); got != "AirSyncBase:Type AirSyncBase:EstimatedDataSize AirSyncBase:Truncated" {
		t.Errorf("body without data: %s", got)
	}
	m.Body.Data = Ptr("")
	if !m.Encode(V161).Child(wbxml.AirSyncBase, "Body").Has(wbxml.AirSyncBase, "Data") {
		t.Error("empty Data must still be written")
	}
	mustRoundTrip(t, app)
}

func TestEmailChangeEncodeDecode(t *testing.T) {
	ch := &EmailChange{Read: Ptr(true), Flag: &Flag{}, LastVerbExecuted: Ptr(3), Categories: []string{}}
	if got := names(ch.Encode(V121)); got != "Email:Read Email:Flag" {
		t.Errorf("12.1: %s", got)
	}
	app := ch.Encode(V141)
	if got := names(app); got != "Email:Read Email:Flag Email2:LastVerbExecuted Email:Categories" {
		t.Errorf("14.1: %s", got)
	}
	if c := app.Child(wbxml.Email, "Categories"); len(c.Children) != 0 {
		t.Errorf("no categories must be the empty element (it removes them): %s", c.XML())
	}
	back, err := DecodeEmailChange(mustRoundTrip(t, app), V141)
	if err != nil {
		t.Fatal(err)
	}
	want := &EmailChange{Read: Ptr(true), Flag: &Flag{}, Categories: []string{}} // LastVerbExecuted is server-sent only
	if !reflect.DeepEqual(back, want) {
		t.Errorf("got %+v", back)
	}
	if got := names((&EmailChange{}).Encode(V161)); got != "" {
		t.Errorf("an empty change must say nothing: %s", got)
	}
}

func TestDecodeEmailChangeLenient(t *testing.T) {
	for doc, want := range map[string]EmailChange{
		`<e:Read> 1 </e:Read><e:Flag><e:FlagStatus>2</e:FlagStatus><e:FlagType>for Follow Up</e:FlagType></e:Flag>`: {
			Read: Ptr(true), Flag: &Flag{Status: FlagActive, Type: "for Follow Up"}},
		`<e:Read>yes</e:Read><e:Flag><e:FlagStatus>soon</e:FlagStatus><e:FlagType>x</e:FlagType></e:Flag>`: {
			Read: Ptr(false), Flag: &Flag{}},
		`<e:Flag/><e:Categories><e:Category> Work </e:Category><e:Category/><e:Category>  </e:Category></e:Categories>`: {
			Flag: &Flag{}, Categories: []string{"Work"}},
		`<e:Subject>ignored</e:Subject>`: {},
	} {
		el, err := wbxml.ParseXML(strings.NewReader(`<ApplicationData xmlns="AirSync:" xmlns:e="Email:">` + doc + `</ApplicationData>`))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeEmailChange(el, V141)
		if err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("%s:\n got %+v (%v)\nwant %+v", doc, got, err, want)
		}
	}
	if got, err := DecodeEmailChange(nil, V141); err != nil || !reflect.DeepEqual(*got, EmailChange{}) {
		t.Errorf("nil: %+v %v", got, err)
	}
}

func sampleMeeting() *MeetingRequest {
	start := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	return &MeetingRequest{
		AllDayEvent: Ptr(false), StartTime: Ptr(start), DtStamp: start.Add(-48 * time.Hour), EndTime: Ptr(start.Add(time.Hour)),
		InstanceType: 1, Location: "Room 1", Organizer: "boss@example.test", Reminder: Ptr(900), ResponseRequested: true,
		Recurrence:  &Recurrence{Type: RecurWeekly, DayOfWeek: Ptr(2), Until: Ptr(start.AddDate(0, 2, 0)), CalendarType: Ptr(1), IsLeapMonth: Ptr(false), FirstDayOfWeek: Ptr(1)},
		Sensitivity: Ptr(0), BusyStatus: Ptr(BusyStatusWorkingElsewhere), TimeZone: []byte{0xc4, 0xff, 0xff, 0xff},
		GlobalObjID: "BAAAAIIA4AB0xbcQGoLgCAAAAAA=", DisallowNewTimeProposal: true, MeetingMessageType: 1,
		ProposedStartTime: Ptr(start.Add(time.Hour)), ProposedEndTime: Ptr(start.Add(2 * time.Hour)),
	}
}

func TestMeetingRequestPerVersion(t *testing.T) {
	head := "Email:AllDayEvent Email:StartTime Email:DtStamp Email:EndTime Email:InstanceType "
	tail := "Email:Organizer Email:Reminder Email:ResponseRequested Email:Recurrences Email:Sensitivity Email:BusyStatus Email:TimeZone Email:GlobalObjId"
	for v, want := range map[Version]string{
		V121: head + "Email:Location " + tail,
		V140: head + "Email:Location " + tail + " Email:DisallowNewTimeProposal",
		V141: head + "Email:Location " + tail + " Email:DisallowNewTimeProposal Email2:MeetingMessageType",
		V160: head + "AirSyncBase:Location " + tail + " Email:DisallowNewTimeProposal Email2:MeetingMessageType",
		V161: head + "AirSyncBase:Location " + tail + " Email:DisallowNewTimeProposal Email2:MeetingMessageType MeetingResponse:ProposedStartTime MeetingResponse:ProposedEndTime",
	} {
		mr := sampleMeeting().Encode(v)
		if got := names(mr); got != want {
			t.Errorf("%d:\n got %s\nwant %s", v, got, want)
		}
		mustRoundTrip(t, mr)
		// MS-ASEMAIL 2.2.2.17: working elsewhere (4) is 16.x only.
		if b, want := mr.ChildText(wbxml.Email, "BusyStatus"), map[bool]string{true: "4", false: "0"}[v >= V160]; b != want {
			t.Errorf("%d: BusyStatus %s, want %s", v, b, want)
		}
		rec := mr.Child(wbxml.Email, "Recurrences").Child(wbxml.Email, "Recurrence")
		wantRec := "Email:Type Email:Interval Email:Until Email:DayOfWeek"
		if v >= V140 {
			wantRec += " Email2:CalendarType Email2:IsLeapMonth"
		}
		if v >= V141 {
			wantRec += " Email2:FirstDayOfWeek"
		}
		if got := names(rec); got != wantRec {
			t.Errorf("%d: recurrence %s", v, got)
		}
		if rec.ChildText(wbxml.Email, "Interval") != "1" || rec.ChildText(wbxml.Email, "Until") != "20260901T070000Z" {
			t.Errorf("%d: Interval defaults to 1 and Until is compact:\n%s", v, rec.XML())
		}
	}
	mr := sampleMeeting().Encode(V141)
	if mr.ChildText(wbxml.Email, "StartTime") != "2026-07-01T07:00:00.000Z" || mr.ChildText(wbxml.Email, "TimeZone") != "xP///w==" {
		t.Errorf("times are dateTime and the zone is base64 text:\n%s", mr.XML())
	}
	if tz := mr.Child(wbxml.Email, "TimeZone"); tz.IsOpaque {
		t.Error("TimeZone must be a string, not OPAQUE")
	}
	// Inside an Email, after MessageClass.
	app := (&Email{MessageClass: "IPM.Schedule.Meeting.Request", MeetingRequest: sampleMeeting()}).Encode(V141)
	if !strings.Contains(names(app), "Email:MessageClass Email:MeetingRequest Email:InternetCPID") {
		t.Errorf("placement: %s", names(app))
	}
}

func TestDecodeDraft(t *testing.T) {
	doc := `<ApplicationData xmlns="AirSync:" xmlns:e="Email:" xmlns:e2="Email2:" xmlns:b="AirSyncBase:">` +
		`<e:To>bob@example.test</e:To><e2:Bcc>dave@example.test</e2:Bcc><e:Subject>Hi</e:Subject><e:Importance> 2 </e:Importance>` +
		`<b:Body><b:Type>2</b:Type><b:Data>&lt;p&gt;x&lt;/p&gt;</b:Data></b:Body></ApplicationData>`
	el, err := wbxml.ParseXML(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeDraft(el, V161)
	if err != nil {
		t.Fatal(err)
	}
	want := &Draft{To: Ptr("bob@example.test"), Bcc: Ptr("dave@example.test"), Subject: Ptr("Hi"), Importance: Ptr(ImportanceHigh),
		Body: &Body{Type: BodyHTML, Data: "<p>x</p>"}}
	if !reflect.DeepEqual(d, want) || !d.HasContent() {
		t.Fatalf("got %+v", d)
	}
	back, err := DecodeDraft(mustRoundTrip(t, d.Encode(V161)), V161)
	if err != nil || !reflect.DeepEqual(back, want) {
		t.Errorf("round trip: %+v %v", back, err)
	}
	for body, want := range map[string]Draft{
		`<e:Importance>02</e:Importance>`:                    {Importance: Ptr(ImportanceNormal)},
		`<e:Importance>high</e:Importance>`:                  {Importance: Ptr(ImportanceNormal)},
		`<e:Importance>7</e:Importance>`:                     {Importance: Ptr(ImportanceNormal)},
		`<e:Importance>0</e:Importance>`:                     {Importance: Ptr(ImportanceLow)},
		`<b:Body><b:Type>html</b:Type></b:Body>`:             {Body: &Body{Type: BodyPlain}},
		`<b:Body/>`:                                          {Body: &Body{Type: BodyPlain}},
		`<e2:Send/>`:                                         {Send: true},
		`<e:Subject/>`:                                       {Subject: Ptr("")},
		`<e:Subject>a` + "\x00" + `b</e:Subject>`:            {Subject: Ptr("ab")},
		`<e:Read>1</e:Read><e:Flag/><e:Categories/>`:         {},
		`<e:Cc>` + "\xff" + `c@example.test</e:Cc><e:Read/>`: {Cc: Ptr("\uFFFDc@example.test")},
	} {
		el, err := wbxml.ParseXML(strings.NewReader(`<ApplicationData xmlns="AirSync:" xmlns:e="Email:" xmlns:e2="Email2:" xmlns:b="AirSyncBase:">` + body + `</ApplicationData>`))
		if err != nil {
			// encoding/xml refuses a NUL or a bad byte; build those by hand.
			el = wbxml.New(wbxml.AirSync, "ApplicationData")
			if want.Subject != nil {
				el.AddText(wbxml.Email, "Subject", "a\x00b")
			} else {
				el.AddText(wbxml.Email, "Cc", "\xffc@example.test")
			}
		}
		got, err := DecodeDraft(el, V161)
		if err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("%q:\n got %+v (%v)\nwant %+v", body, got, err, want)
		}
		if got.HasContent() != !reflect.DeepEqual(want, Draft{}) {
			t.Errorf("%q: HasContent %v", body, got.HasContent())
		}
	}
}
