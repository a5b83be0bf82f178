package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/strictjson"
)

// Page sizes of GET /api/v1/boards.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Board states as the API shows them.
const (
	StateShipped     = "shipped"
	StateActivated   = "activated"
	StateDeactivated = "deactivated"
)

// board is a board as the API shows it.
type board struct {
	GUID        string    `json:"guid"`
	State       string    `json:"state"`
	ShippedAt   time.Time `json:"shippedAt"`
	ActivatedAt time.Time `json:"activatedAt,omitzero"`
	// DeactivatedAt is when a deactivated board was deactivated.
	DeactivatedAt time.Time `json:"deactivatedAt,omitzero"`
	// Registered says DPS has assigned the board to a hub, as the portal last read it: its
	// initial twin no longer reaches it, so its metadata is not edited any more.
	Registered bool              `json:"registered"`
	Hub        string            `json:"hub,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	Enrollment *enrollment       `json:"enrollment,omitempty"`
}

// enrollment is what the API shows of a board's DPS enrollment.
type enrollment struct {
	ProvisioningStatus string `json:"provisioningStatus"`
	IoTHubHostName     string `json:"iotHubHostName,omitempty"`
	ETag               string `json:"etag"`
}

func showBoard(b *records.FleetBoard, e *dpsapi.IndividualEnrollment) board {
	out := board{GUID: b.GUID, State: StateShipped, ShippedAt: b.ShippedAt, ActivatedAt: b.ActivatedAt,
		DeactivatedAt: b.DeactivatedAt, Registered: b.RegisteredHub != "", Hub: b.Hub, Metadata: b.Metadata}
	switch {
	case b.FleetState == records.FleetDeactivated:
		out.State = StateDeactivated
	case b.State == records.StateActivated:
		out.State = StateActivated
	}
	if len(out.Metadata) == 0 {
		out.Metadata = nil
	}
	if e != nil {
		out.Enrollment = &enrollment{ProvisioningStatus: string(e.ProvisioningStatus), IoTHubHostName: e.IoTHubHostName, ETag: e.ETag}
	}
	return out
}

type boardList struct {
	Boards []board `json:"boards"`
	// NextCursor, when there are more boards, is the cursor parameter for the next page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// cursor is where a page ends: the last board's shipment time and GUID, as opaque base64url JSON.
type cursor struct {
	ShippedAt time.Time `json:"s"`
	GUID      string    `json:"g"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor that encode made, strictly.
func decodeCursor(s string) (*cursor, error) {
	if len(s) > 200 {
		return nil, errors.New("too long")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	var c cursor
	if err := strictjson.Decode(raw, &c); err != nil {
		return nil, err
	}
	if c.GUID == "" || c.ShippedAt.IsZero() {
		return nil, errors.New("incomplete")
	}
	return &c, nil
}

// listQuery reads GET /api/v1/boards's parameters; unknown ones and ones given twice are refused.
func listQuery(q url.Values) (records.BoardQuery, map[string]string) {
	bq := records.BoardQuery{Limit: DefaultLimit}
	bad := map[string]string{}
	for k, v := range q {
		if len(v) > 1 {
			bad[k] = "Give " + k + " once."
			continue
		}
		switch val := v[0]; k {
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > MaxLimit {
				bad[k] = "Give a whole number from 1 to " + strconv.Itoa(MaxLimit) + "."
			}
			bq.Limit = n
		case "state":
			yes, no := true, false
			switch val {
			case StateShipped:
				bq.Activated = &no
			case StateActivated:
				bq.Activated, bq.Deactivated = &yes, &no
			case StateDeactivated:
				bq.Deactivated = &yes
			default:
				bad[k] = "Use shipped, activated or deactivated."
			}
		case "cursor":
			c, err := decodeCursor(val)
			if err != nil {
				bad[k] = "Not a cursor of this API: pass nextCursor from the previous page as it is."
				continue
			}
			bq.After = &records.Board{GUID: c.GUID, ShippedAt: c.ShippedAt}
		default:
			bad[k] = "Not a parameter of this operation: use limit, state and cursor."
		}
	}
	if len(bad) > 0 {
		return bq, bad
	}
	return bq, nil
}

func (a *api) listBoards(w http.ResponseWriter, r *http.Request, t *records.APIToken) {
	q, bad := listQuery(r.URL.Query())
	if bad != nil {
		writeError(w, http.StatusBadRequest, "invalid_parameters", "Some query parameters are not right: see fields.", bad)
		return
	}
	q.Customer = t.Customer
	want := q.Limit
	q.Limit++ // one more says whether there is a next page
	list, err := a.cfg.Store.CustomerBoardsAfter(r.Context(), q)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := boardList{Boards: []board{}}
	if len(list) > want {
		list = list[:want]
		last := list[want-1]
		out.NextCursor = cursor{last.ShippedAt, last.GUID}.encode()
	}
	for i := range list {
		out.Boards = append(out.Boards, showBoard(&list[i], nil))
	}
	writeJSON(w, http.StatusOK, out)
}

// orgBoard returns the path's board if it was shipped to t's organisation, or answers 404.
func (a *api) orgBoard(w http.ResponseWriter, r *http.Request, t *records.APIToken) (*records.FleetBoard, bool) {
	guid := strings.ToLower(r.PathValue("guid"))
	b, err := a.cfg.Store.CustomerBoard(r.Context(), t.Customer, guid)
	if errors.Is(err, records.ErrNotFound) {
		notFound(w, t)
		return nil, false
	}
	if err != nil {
		a.internal(w, r, err)
		return nil, false
	}
	return b, true
}

// notFound is the one answer for an unknown board, another organisation's, a wrong code and a
// spent one.
func notFound(w http.ResponseWriter, t *records.APIToken) {
	writeError(w, http.StatusNotFound, "board_not_found", "No board of "+t.Customer+" has that GUID (and, to activate, that activation code). Check both against the board's label; each code activates its board once.", nil)
}

func (a *api) getBoard(w http.ResponseWriter, r *http.Request, t *records.APIToken) {
	b, ok := a.orgBoard(w, r, t)
	if !ok {
		return
	}
	var e *dpsapi.IndividualEnrollment
	if a.cfg.DPS != nil {
		var err error
		e, err = activation.Read(r.Context(), a.cfg.DPS, b.GUID)
		if err != nil && !errors.Is(err, activation.ErrNoEnrollment) {
			a.dpsFailed(w, r, err)
			return
		}
	}
	if e != nil {
		setETag(w, e.ETag)
	}
	writeJSON(w, http.StatusOK, showBoard(b, e))
}

func (a *api) dpsFailed(w http.ResponseWriter, r *http.Request, err error) {
	a.cfg.Logger.Error("api: "+r.Method+" "+r.URL.Path+": DPS", "err", err)
	writeError(w, http.StatusBadGateway, "dps_failed", "DPS did not answer as expected. Try again; if it keeps failing, tell the portal's operator the time it happened.", nil)
}
