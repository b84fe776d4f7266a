package browsertest_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"jabberdesk/internal/browsertest"
)

// rateable makes the fake take ratings (recorded on the returned
// channel) and answer the visitor's end as the server does when the
// visitor is asked to rate the chat.
func (f *fakeAPI) rateable() <-chan map[string]any {
	ratings := make(chan map[string]any, 8)
	f.mux.HandleFunc("POST /api/v1/chats/{id}/rating", func(w http.ResponseWriter, r *http.Request) {
		body, ok := f.body(w, r)
		if !ok {
			return
		}
		select {
		case ratings <- body:
			writeJSON(w, http.StatusCreated, map[string]any{"status": "rated"})
		default:
			apiError(w, http.StatusConflict, "already_rated", "This chat was rated already.")
		}
	})
	f.mux.HandleFunc("POST /api/v1/chats/{id}/end", func(w http.ResponseWriter, r *http.Request) {
		if !f.chat(w, r) {
			return
		}
		f.ends <- struct{}{}
		f.emit("ended", map[string]any{"reason": "visitor", "rate": true})
		writeJSON(w, http.StatusOK, map[string]any{"status": "ended", "rate": true})
	})
	return ratings
}

// TestWidgetRating: on the standalone page an agent ends the chat; the
// visitor clicks 4 stars, writes a comment, sends it and is thanked.
func TestWidgetRating(t *testing.T) {
	api := newFakeAPI(t)
	api.oneDept = true // no department to choose
	ratings := api.rateable()
	b := browsertest.Start(t)
	run(t, b, browsertest.Phone(), chromedp.Navigate(api.start().URL+"/chat/acme"), fillForm("#jd-app", ""))
	recv(t, api.created, "POST /api/v1/chats")
	api.emit("agent_joined", map[string]any{"name": "Fiona"})
	api.emit("message", map[string]any{"from": "Fiona", "text": "It ships today."})
	run(t, b, browsertest.WaitText(".jd-log", "It ships today."))
	if n := eval[int](t, b, `document.querySelectorAll('.jd-rate').length`); n != 0 {
		t.Fatalf("%d rating forms during the chat", n)
	}

	api.emit("ended", map[string]any{"reason": "agent", "rate": true})
	run(t, b, browsertest.WaitText(".jd-rate legend", "How was this chat?"))
	if n := eval[int](t, b, `document.querySelectorAll('.jd-rate fieldset input[type=radio]').length`); n != 5 {
		t.Fatalf("%d star radios, want 5", n)
	}
	if got := eval[string](t, b, `document.querySelector('.jd-rate label[data-stars="4"]').textContent`); got != "★4 stars" {
		t.Errorf("the 4-star label reads %q", got)
	}
	// Sending without stars is refused in the page.
	run(t, b,
		chromedp.Click(chromedp.CSS(".jd-rate button[type=submit]")),
		browsertest.WaitText(".jd-rate .jd-alert", "Please choose from 1 to 5 stars."),
	)
	run(t, b,
		chromedp.Click(chromedp.CSS(`.jd-rate label[data-stars="4"]`)),
		browsertest.WaitJS(`document.querySelector('.jd-rate input[value="4"]').checked`),
	)
	if n := eval[int](t, b, `document.querySelectorAll('.jd-rate .jd-star.jd-lit').length`); n != 4 {
		t.Errorf("%d stars lit, want 4", n)
	}
	b.Screenshot(t, "phone-rating")
	run(t, b,
		chromedp.SendKeys(chromedp.CSS(".jd-rate textarea[name=comment]"), "Quick and kind"),
		chromedp.Click(chromedp.CSS(".jd-rate button[type=submit]")),
		browsertest.WaitText(".jd-thanks", "Thanks for your feedback!"),
	)
	got := recv(t, ratings, "POST rating")
	if got["stars"] != float64(4) || got["comment"] != "Quick and kind" {
		t.Errorf("rating = %v", got)
	}
	if n := eval[int](t, b, `document.querySelectorAll('.jd-rate').length`); n != 0 {
		t.Error("the form stays after the thanks")
	}
	b.Screenshot(t, "phone-rated")
	noExceptions(t, b)
}

// TestWidgetRatingByKeyboard: in the floating widget on another site the
// visitor ends the chat and rates it with the keyboard alone.
func TestWidgetRatingByKeyboard(t *testing.T) {
	api := newFakeAPI(t)
	api.oneDept = true // no department to choose
	ratings := api.rateable()
	host := hostPage(t, api.start().URL, "", "<h1>Acme Rockets</h1>")
	b := browsertest.Start(t)
	run(t, b, browsertest.Desktop(), chromedp.Navigate(host.URL+"/"), chromedp.Click(chromedp.CSS(".jd-launcher")), fillForm(".jd-panel", ""))
	recv(t, api.created, "POST /api/v1/chats")
	api.emit("agent_joined", map[string]any{"name": "Fiona"})
	run(t, b,
		browsertest.WaitText(".jd-sub", "Fiona"),
		chromedp.Click(chromedp.CSS(".jd-header .jd-hbtn:not(.jd-icon)")),
		chromedp.Click(chromedp.CSS(".jd-header .jd-hbtn:not(.jd-icon)")),
	)
	recv(t, api.ends, "POST end")
	// The question takes the focus from the End button that went away;
	// the arrows choose, Tab moves on, Enter sends.
	run(t, b,
		browsertest.WaitJS(`document.activeElement && document.activeElement.name && document.activeElement.type === 'radio'`),
		chromedp.KeyEvent(kb.ArrowRight),
		chromedp.KeyEvent(kb.ArrowRight),
		browsertest.WaitJS(`document.querySelector('.jd-rate input[value="3"]').checked`),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent("Fine"),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(kb.Enter),
		browsertest.WaitText(".jd-thanks", "Thanks for your feedback!"),
	)
	if got := recv(t, ratings, "POST rating"); got["stars"] != float64(3) || got["comment"] != "Fine" {
		t.Errorf("rating = %v", got)
	}
	noExceptions(t, b)
}
