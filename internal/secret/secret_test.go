package secret

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"none", nil, "key=abcd1234", "key=abcd1234"},
		{"plain", []string{"abcd1234"}, "key=abcd1234 ok", "key=*** ok"},
		{"every occurrence", []string{"abcd1234"}, "abcd1234 and abcd1234.", "*** and ***."},
		{"adjacent copies are one run", []string{"abcd1234"}, "<abcd1234abcd1234>", "<***>"},
		{"inside a word", []string{"abcd1234"}, "xxabcd1234yy", "xx***yy"},
		{"overlapping secrets", []string{"abcd", "cdef"}, "xabcdefx", "x***x"},
		{"nested secrets", []string{"abcd", "abcdef"}, "abcde abcdef abcd", "***e *** ***"},
		{"longer wins", []string{"abc", "abcd"}, "abcd abc abcx", "*** *** abcx"},
		{"short as a whole word", []string{"042"}, "pin=042, x042, 0420, 042", "pin=***, x042, 0420, ***"},
		{"short with non-word edges", []string{"!@#"}, "a!@#b", "a***b"},
		{"short mixed edges", []string{"#42"}, "a#42 b#42c", "a*** b#42c"},
		{"short next to UTF-8", []string{"42"}, "é42 42é (42)", "é42 42é (***)"},
		{"trimmed", []string{"  tok3n-value\n"}, "t=tok3n-value\n", "t=***\n"},
		{"empty and blank ignored", []string{"", "  ", "\n"}, "a b", "a b"},
		{"case sensitive", []string{"Secret99"}, "secret99 SECRET99", "secret99 SECRET99"},
		{"url encoded", []string{"p@ss/w0rd+x"}, "GET /?k=p%40ss%2Fw0rd%2Bx&z=1", "GET /?k=***&z=1"},
		{"path escaped", []string{"p@ss w0rd"}, "/v1/p@ss%20w0rd/x", "/v1/***/x"},
		{"json escaped", []string{`a"b\c<d>`}, `{"k":"a\"b\\c\u003cd\u003e"} {"k":"a\"b\\c<d>"}`, `{"k":"***"} {"k":"***"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := New(tc.secrets...).String(tc.in); got != tc.want {
				t.Fatalf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMultiLineSecret(t *testing.T) {
	key := "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n"
	m := New(key)
	body := "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
	js, _ := json.Marshal(map[string]string{"private_key": key})
	for _, out := range []string{
		m.String(string(js)),                                // inside a JSON document: \n escaped
		m.String(strings.ReplaceAll(key, "\n", "\r\n")),     // CRLF
		m.String("line 2 of the key: " + body + " <- here"), // one line alone
	} {
		if strings.Contains(out, body) || strings.Contains(out, "BKcwggSj") || !strings.Contains(out, Mask) {
			t.Errorf("key leaked: %q", out)
		}
	}
}

// TestBase64 checks a secret base64-encoded at each alignment inside a longer
// text (Basic auth "user:pass") leaves at most the 2 characters per edge that
// also depend on its neighbours.
func TestBase64(t *testing.T) {
	const pass = "s3cr3t-passw0rd-for-b2"
	m := New(pass)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for _, user := range []string{"", "u", "us", "usr", "user"} {
			plain := user + ":" + pass + "?"
			if user == "" {
				plain = pass
			}
			b64 := enc.EncodeToString([]byte(plain))
			out := m.String("Authorization: Basic " + b64)
			// Characters carrying only the secret's bits: about 8*len/6; all
			// but 2 on each side must be gone.
			kept := len(out) - len("Authorization: Basic ") - len(Mask)
			if maxKept := len(b64) - 8*len(pass)/6 + 4; !strings.Contains(out, Mask) || kept > maxKept {
				t.Errorf("user %q: %s -> %s keeps %d chars, want at most %d", user, b64, out, kept, maxKept)
			}
		}
	}
}

type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

func TestError(t *testing.T) {
	m := New("KEY-0123456789")
	inner := &codeError{401}
	err := fmt.Errorf("vast: GET /instances?api_key=KEY-0123456789: %w", inner)
	masked := m.Error(err)
	if masked.Error() != "vast: GET /instances?api_key=***: code 401" {
		t.Fatalf("message %q", masked.Error())
	}
	var ce *codeError
	if !errors.Is(masked, inner) || !errors.As(masked, &ce) || ce.code != 401 {
		t.Fatal("errors.Is/As must see through the mask")
	}
	plain := fmt.Errorf("open x: %w", fs.ErrNotExist)
	if m.Error(plain) != plain || m.Error(nil) != nil {
		t.Fatal("an error without secret (or nil) must be returned as is")
	}
}

func TestNilAndZeroMasker(t *testing.T) {
	for _, m := range []*Masker{nil, {}} {
		err := errors.New("x")
		if m.String("abc") != "abc" || m.Error(err) != err || m.Value("abc") != "abc" {
			t.Fatalf("%v masker must mask nothing", m)
		}
		var sb strings.Builder
		w := m.Writer(&sb)
		fmt.Fprint(w, "hello")
		if err := w.Close(); err != nil || sb.String() != "hello" {
			t.Fatalf("writer: %q, %v", sb.String(), err)
		}
	}
}

func TestAddDuringUse(t *testing.T) {
	m := New("first-secret")
	if got := m.String("first-secret second-secret"); got != "*** second-secret" {
		t.Fatal(got)
	}
	m.Add("second-secret", "first-secret")
	if got := m.String("first-secret second-secret"); got != "*** ***" {
		t.Fatal(got)
	}
}

func TestValue(t *testing.T) {
	const key = "sk-live-ABCDEF"
	type Inner struct {
		Token string  `json:"token"`
		Price float64 `json:"price"`
	}
	type Outer struct {
		Name    string            `json:"name"`
		Headers map[string]string `json:"headers"`
		Items   []Inner           `json:"items"`
		Ptr     *Inner            `json:"ptr"`
		ID      int64             `json:"id"`
		PIN     int               `json:"pin"`
		OK      bool              `json:"ok"`
		hidden  string
	}
	m := New(key, "20260417")
	in := Outer{
		Name:    "run",
		Headers: map[string]string{"Authorization": "Bearer " + key, key: "as a key"},
		Items:   []Inner{{Token: key, Price: 0.41}, {Token: "public"}},
		Ptr:     &Inner{Token: "x" + key + "x"},
		ID:      9007199254740993, // not exact as a float64
		PIN:     20260417,
		OK:      true,
		hidden:  key,
	}
	got, err := json.Marshal(m.Value(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"headers":{"***":"as a key","Authorization":"Bearer ***"},"id":9007199254740993,` +
		`"items":[{"price":0.41,"token":"***"},{"price":0,"token":"public"}],"name":"run","ok":true,` +
		`"pin":"***","ptr":{"price":0,"token":"x***x"}}`
	if string(got) != want {
		t.Fatalf("Value =\n%s\nwant\n%s", got, want)
	}
	if in.Headers["Authorization"] != "Bearer "+key || in.Items[0].Token != key {
		t.Fatal("Value must not modify its argument")
	}
	generic := map[string]any{"list": []any{key, map[string]any{"k": key}}}
	if got, _ := json.Marshal(m.Value(generic)); string(got) != `{"list":["***",{"k":"***"}]}` {
		t.Fatalf("generic: %s", got)
	}
	if generic["list"].([]any)[0] != key {
		t.Fatal("Value must copy generic maps and slices too")
	}
	if got := m.Value(make(chan int)); !strings.HasPrefix(got.(string), "0x") {
		t.Fatalf("unencodable value: %v", got)
	}
	if m.Value(nil) != nil || m.Value("a "+key) != "a ***" {
		t.Fatal("scalars")
	}
	u, _ := url.Parse("https://x/?k=" + key)
	if got := m.Value(u); strings.Contains(fmt.Sprint(got), key) {
		t.Fatalf("url: %v", got)
	}
}
