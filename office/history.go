package office

// History: visits found by ticket serial, order number or time range,
// and a visit's whole story across the lanes; the office's audit trail;
// the users page for admins.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/sitestore"
)

type historyData struct {
	Serial, Order, From, To string
	Searched                bool
	Visits                  []sitestore.VisitRow
	Err                     string
}

func (d historyData) notices() (string, string) { return d.Err, "" }

func (c *Console) historyPage(q *request) {
	v := q.r.URL.Query()
	d := historyData{Serial: strings.TrimSpace(v.Get("serial")), Order: strings.TrimSpace(v.Get("order")),
		From: v.Get("from"), To: v.Get("to")}
	vq := sitestore.VisitQuery{Serial: d.Serial, OrderNo: d.Order}
	const layout = "2006-01-02T15:04"
	var err error
	if d.From != "" {
		if vq.From, err = time.ParseInLocation(layout, d.From, c.loc); err != nil {
			d.Err = "From: want a date and a time."
		}
	}
	if d.To != "" {
		if vq.To, err = time.ParseInLocation(layout, d.To, c.loc); err != nil {
			d.Err = "To: want a date and a time."
		}
	}
	d.Searched = d.Serial != "" || d.Order != "" || d.From != "" || d.To != ""
	if !d.Searched {
		// The latest visits, to start from.
		vq.Limit = 30
	}
	status := http.StatusOK
	if d.Err == "" {
		ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
		defer cancel()
		if d.Visits, err = c.store.SearchVisits(ctx, vq); err != nil {
			d.Err, status = "The site store cannot be reached.", http.StatusServiceUnavailable
			c.log.Error("history", "err", err)
		}
	} else {
		status = http.StatusBadRequest
	}
	c.render(q, status, "history", "History", d)
}

type storyData struct {
	Lane    string
	Visit   int64
	Events  []sitestore.StoryEvent
	Orders  []storyOrder // the story's orders, for refund and resolve forms
	Refund  bool         // the user may refund
	Ticket  string
	Err     string
	Message string
}

// storyOrder is one of a story's orders: a refund form for each, a
// resolve form only for one that is "paid, not exited".
type storyOrder struct {
	No         string
	Resolvable bool
}

func (d storyData) notices() (string, string) { return d.Err, d.Message }

func (c *Console) storyPage(q *request) {
	laneID := q.r.PathValue("lane")
	visit, err := strconv.ParseInt(q.r.PathValue("visit"), 10, 64)
	if err != nil {
		c.fail(q, http.StatusNotFound, "No such visit.")
		return
	}
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	defer cancel()
	d := storyData{Lane: laneID, Visit: visit, Refund: roleRank(q.user.Role) >= roleRank(RoleSupervisor), Message: q.r.URL.Query().Get("msg")}
	if d.Events, err = c.store.Story(ctx, laneID, visit); err != nil {
		c.log.Error("story", "err", err)
		c.fail(q, http.StatusServiceUnavailable, "The site store cannot be reached.")
		return
	}
	if len(d.Events) == 0 {
		c.fail(q, http.StatusNotFound, "No such visit.")
		return
	}
	for _, e := range d.Events {
		if e.Kind == "order" && !slices.ContainsFunc(d.Orders, func(o storyOrder) bool { return o.No == e.OrderNo }) {
			d.Orders = append(d.Orders, storyOrder{No: e.OrderNo})
		}
		if e.Kind == "scan" && e.Lane == laneID && e.Visit == visit {
			d.Ticket = e.Detail
		}
	}
	if d.Refund && len(d.Orders) > 0 {
		us, err := c.store.Unresolved(ctx)
		if err != nil {
			c.fail(q, http.StatusServiceUnavailable, "The site store cannot be reached.")
			return
		}
		for i, o := range d.Orders {
			d.Orders[i].Resolvable = slices.ContainsFunc(us, func(u sitestore.Unresolved) bool {
				return u.MerchantOrderNo == o.No && u.Kind == lane.UnresolvedPaidNotExited
			})
		}
	}
	c.render(q, http.StatusOK, "story", "Visit "+laneID+"/"+strconv.FormatInt(visit, 10), d)
}

func (c *Console) auditPage(q *request) {
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	defer cancel()
	es, err := c.store.OfficeAudit(ctx, 300)
	if err != nil {
		c.fail(q, http.StatusServiceUnavailable, "The site store cannot be reached.")
		return
	}
	c.render(q, http.StatusOK, "audit", "Audit", es)
}

type usersData struct {
	Users []sitestore.OfficeUser
	Roles []string
	Err   string
	Msg   string
}

func (d usersData) notices() (string, string) { return d.Err, d.Msg }

func (c *Console) usersPage(q *request) {
	c.showUsers(q, http.StatusOK, "", q.r.URL.Query().Get("msg"))
}

func (c *Console) showUsers(q *request, status int, errMsg, msg string) {
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	defer cancel()
	us, err := c.store.OfficeUsers(ctx)
	if err != nil {
		c.fail(q, http.StatusServiceUnavailable, "The site store cannot be reached.")
		return
	}
	c.render(q, status, "users", "Users", usersData{Users: us, Roles: Roles, Err: errMsg, Msg: msg})
}

// usersPost adds a user, disables or enables one, or sets a password.
func (c *Console) usersPost(q *request) {
	f := q.r.PostForm
	op, name := f.Get("op"), strings.TrimSpace(f.Get("name"))
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	defer cancel()
	now := c.now()
	var err error
	var done string
	switch op {
	case "add":
		if f.Get("password") != f.Get("password2") {
			err = errors.New("the two passwords differ")
		} else {
			err = AddUser(ctx, c.store, name, f.Get("role"), f.Get("password"), now)
		}
		done = "User " + name + " added as " + f.Get("role") + "."
	case "disable", "enable":
		if name == q.user.Name {
			err = errors.New("you cannot disable yourself")
		} else {
			err = c.store.SetOfficeUserDisabled(ctx, name, op == "disable", now)
		}
		done = "User " + name + " " + op + "d."
	case "password":
		if f.Get("password") != f.Get("password2") {
			err = errors.New("the two passwords differ")
		} else {
			err = SetPassword(ctx, c.store, name, f.Get("password"), now)
		}
		done = "Password of " + name + " set; the user's sessions ended."
	default:
		c.fail(q, http.StatusBadRequest, "Unknown operation.")
		return
	}
	result := "ok"
	if err != nil {
		result = "refused: " + userError(err)
	}
	c.audit(q.r, q.user.Name, "user_"+op, "", "", name+": "+result)
	if err != nil {
		c.showUsers(q, http.StatusBadRequest, userError(err), "")
		return
	}
	http.Redirect(q.w, q.r, "/users?msg="+url.QueryEscape(done), http.StatusSeeOther)
}

// userError is an error in words for the users page.
func userError(err error) string {
	switch {
	case errors.Is(err, sitestore.ErrUserExists):
		return "That name is taken."
	case errors.Is(err, sitestore.ErrNotFound):
		return "No such user."
	case errors.Is(err, ErrPasswordShort), errors.Is(err, ErrPasswordLong), errors.Is(err, ErrBadName), errors.Is(err, ErrBadRole):
		return strings.TrimPrefix(err.Error(), "office: ")
	}
	return err.Error()
}
