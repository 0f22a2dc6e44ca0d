//go:build race

package caddyrun

const raceEnabled = true
