package admin_test

import (
	"testing"

	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/admin/admintest"
)

func TestMemoryConformance(t *testing.T) {
	admintest.Run(t, func(*testing.T) admin.Store { return admin.NewMemory() })
}
