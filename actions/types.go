package actions

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a parameter written "30s", "10m", "1h30m" or as a number of
// seconds. Its zero value means "not set" (the action's default applies).
type Duration struct{ time.Duration }

// DecodeParam implements ParamDecoder.
func (d *Duration) DecodeParam(v any) error {
	switch x := v.(type) {
	case string:
		if n, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return d.set(time.Duration(n * float64(time.Second)))
		}
		p, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			return fmt.Errorf("%q is not a duration (write 30s, 10m, 1h30m)", x)
		}
		return d.set(p)
	case int:
		return d.set(time.Duration(x) * time.Second)
	case int64:
		return d.set(time.Duration(x) * time.Second)
	case float64:
		return d.set(time.Duration(x * float64(time.Second)))
	}
	return fmt.Errorf("expected a duration like 30s, got %s", Describe(v))
}

func (d *Duration) set(v time.Duration) error {
	if v < 0 {
		return fmt.Errorf("duration %s is negative", v)
	}
	d.Duration = v
	return nil
}

// Or returns the duration, or def when it is not set.
func (d Duration) Or(def time.Duration) time.Duration {
	if d.Duration == 0 {
		return def
	}
	return d.Duration
}

// MarshalJSON writes the duration as "30s" in journals.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(d.String())), nil }

// InstanceRef names an instance: an id ("42", 42) or a whole instance
// object as instance.create returns it (${{ steps.gpu }}), of which only
// id and provider are used.
type InstanceRef struct {
	ID       string `json:"id"`
	Provider string `json:"provider,omitempty"`
}

// DecodeParam implements ParamDecoder.
func (r *InstanceRef) DecodeParam(v any) error {
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return fmt.Errorf("instance id is empty")
		}
		r.ID = strings.TrimSpace(x)
	case int, int64:
		r.ID = fmt.Sprint(x)
	case float64:
		r.ID = strconv.FormatFloat(x, 'f', -1, 64)
	case map[string]any:
		id, ok := x["id"]
		if !ok || id == nil || fmt.Sprint(id) == "" {
			return fmt.Errorf("expected an instance (an id, or an object with an id such as ${{ steps.gpu }}), got a mapping without id")
		}
		r.ID = fmt.Sprint(id)
		if p, ok := x["provider"].(string); ok {
			r.Provider = p
		}
	default:
		return fmt.Errorf("expected an instance id or ${{ steps.<id> }} of an instance.create step, got %s", Describe(v))
	}
	return nil
}

// String returns the id.
func (r InstanceRef) String() string { return r.ID }

// StandbyRef names a standby association of the run: the standby's id, or
// the id of the GPU it follows, or either's object (${{ steps.standby }}).
// It decodes as an InstanceRef; the checker also requires a standby.create
// step before the step that names it (RunScoped).
type StandbyRef struct{ InstanceRef }
