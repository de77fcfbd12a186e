package train

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// GoMLX v0.28 defines no gradient for Rsqrt, which RMSNorm uses. With y = x^(-1/2),
// dy/dx = -½·x^(-3/2) = -½·y³. Registered once, for every graph this process differentiates.
func init() {
	if _, ok := VJPRegistration[NodeTypeRsqrt]; !ok {
		VJPRegistration[NodeTypeRsqrt] = func(node *Node, v []*Node, _ shapes.Shape) []*Node {
			return []*Node{Mul(v[0], MulScalar(Mul(node, Square(node)), -0.5))}
		}
	}
}
