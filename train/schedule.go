package train

import "math"

// LearningRate is the schedule: linear warmup from 0 to peak over warmup steps, then cosine decay
// to minLR at total steps. step counts from 1 (the first update).
func LearningRate(step, warmup, total int, peak, minLR float64) float64 {
	if step <= 0 {
		return 0
	}
	if warmup > 0 && step <= warmup {
		return peak * float64(step) / float64(warmup)
	}
	if step >= total {
		return minLR
	}
	progress := float64(step-warmup) / float64(max(1, total-warmup))
	return minLR + 0.5*(peak-minLR)*(1+math.Cos(math.Pi*progress))
}
