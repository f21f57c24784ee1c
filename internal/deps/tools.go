//go:build tools

// Package deps pins the modules scn is built on until code imports them.
package deps

import (
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/credentials"
	_ "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	_ "github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/bmatcuk/doublestar/v4"
	_ "github.com/cenkalti/backoff/v5"
	_ "github.com/chromedp/chromedp"
	_ "github.com/expr-lang/expr"
	_ "github.com/mattn/go-isatty"
	_ "github.com/pierrec/lz4/v4"
	_ "github.com/rclone/gofakes3"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/crypto/ssh"
	_ "google.golang.org/api/compute/v1"
	_ "gopkg.in/yaml.v3"
)
