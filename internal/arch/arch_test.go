package arch

import (
	"slices"
	"testing"
)

func TestSelect(t *testing.T) {
	var a, b, c bool
	l := List{
		{Name: "slow", Available: true, Enabled: &a},
		{Name: "missing", Available: false, Enabled: &b},
		{Name: "fast", Available: true, Enabled: &c},
	}
	a, c = true, true
	if got, want := l.Names(), []string{"generic", "slow", "fast"}; !slices.Equal(got, want) {
		t.Fatalf("Names = %v, want %v", got, want)
	}
	if got := l.Active(); got != "fast" {
		t.Fatalf("Active = %q, want fast", got)
	}
	restore, ok := l.Select("slow")
	if !ok || !a || b || c {
		t.Fatalf("Select(slow): ok %v, enabled %v %v %v; want slow only", ok, a, b, c)
	}
	if got := l.Active(); got != "slow" {
		t.Fatalf("Active after Select(slow) = %q", got)
	}
	if _, ok := l.Select("missing"); ok || !a || b || c {
		t.Fatalf("Select(missing) = %v and changed the choice to %v %v %v", ok, a, b, c)
	}
	if _, ok := l.Select("generic"); !ok || l.AnyEnabled() || l.Active() != "generic" {
		t.Fatalf("Select(generic): ok %v, enabled %v %v %v, active %q", ok, a, b, c, l.Active())
	}
	if _, ok := l.Select("fast"); !ok || !a || b || !c {
		t.Fatalf("Select(fast): ok %v, enabled %v %v %v; want slow and fast", ok, a, b, c)
	}
	restore() // back to before the first Select
	if !a || b || !c {
		t.Fatalf("restore: enabled %v %v %v", a, b, c)
	}
}
