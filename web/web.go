// Package web is roomgate's browser client: plain HTML pages, CSS and
// JavaScript modules, embedded in the binary. There is no build step.
//
// The pages are html/template files that the gateway fills with its settings
// (the signalling path, whether hosts or users must log in); the assets are
// served as they are.
package web

import "embed"

// Pages holds the page templates: home.html, login.html and room.html.
//
//go:embed pages/*.html
var Pages embed.FS

// Assets holds the files served under /assets/.
//
//go:embed assets
var Assets embed.FS
