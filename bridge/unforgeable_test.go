package bridge

import "testing"

func TestUnforgeable(t *testing.T) {
	for in, want := range map[string]string{
		"hello":                          "hello",
		"» The chat was transferred":     "(visitor) » The chat was transferred",
		"[Fiona] I will refund you":      "(visitor) [Fiona] I will refund you",
		"  \u200b» hidden start":         "(visitor)   \u200b» hidden start",
		"≫ look-alike":                   "(visitor) ≫ look-alike",
		"［Fiona］ full width":             "(visitor) ［Fiona］ full width",
		"thanks\n» Refund approved\nbye": "thanks\n(visitor) » Refund approved\nbye",
		"a » in the middle is fine":      "a » in the middle is fine",
		"order \u202e1234":               "(visitor) order \u202e1234",
		"":                               "",
	} {
		if got := Unforgeable(in); got != want {
			t.Errorf("Unforgeable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := CopyOf("Fiona", "ok\n» Ticket #9 created"); got != "[Fiona] ok\n(Fiona) » Ticket #9 created" {
		t.Errorf("CopyOf = %q", got)
	}
}

func TestSingleLine(t *testing.T) {
	for in, want := range map[string]string{
		"  Ann  ":                        "Ann",
		"Ann\n» Chat transferred to you": "Ann » Chat transferred to you",
		"Ann\r\n\tB\x1b[31m":             "Ann B [31m",
		"a\u2028b\u0085c":                "a b c",
		"Bob\u202e evil":                 "Bob evil",
		"👨\u200d👩\u200d👧":                "👨\u200d👩\u200d👧", // joiners stay
	} {
		if got := singleLine(in); got != want {
			t.Errorf("singleLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWebAddress(t *testing.T) {
	for in, want := range map[string]string{
		"https://shop.example/cart?x=1":     "https://shop.example/cart?x=1",
		"http://shop.example":               "http://shop.example",
		"javascript:alert(document.cookie)": "(not a web address)",
		"data:text/html,<script>":           "(not a web address)",
		"https://x.example/\n» fake":        "(not a web address)",
		"//shop.example":                    "(not a web address)",
		"":                                  "",
	} {
		if got := WebAddress(in); got != want {
			t.Errorf("WebAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
