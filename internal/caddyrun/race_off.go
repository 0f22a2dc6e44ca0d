//go:build !race

package caddyrun

const raceEnabled = false
