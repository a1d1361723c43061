package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

func init() {
	register(&command{
		name:    "healthcheck",
		summary: "probe a vilt server: exit 0 when GET URL answers 200 (container HEALTHCHECK)",
		run:     runHealthcheck,
	})
}

// runHealthcheck is the container image's HEALTHCHECK: the slim image has no curl or wget.
func runHealthcheck(args []string, stdout io.Writer) error {
	fs := newFlagSet("healthcheck")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vilt healthcheck [--timeout 3s] URL   (e.g. http://127.0.0.1:8080/healthz)")
		fmt.Fprintln(fs.Output(), "\nExit 0 when GET URL answers 200, 1 otherwise.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() != 1 {
		return usageErrorf("want one URL, got %d arguments", fs.NArg())
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf("%q is not an http(s) URL", fs.Arg(0))
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}
