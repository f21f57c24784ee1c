package s3store

import (
	"errors"
	"fmt"
	"github.com/scnlabs/scn/internal/store"
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// clockCodes are the S3 errors a wrong local clock produces.
var clockCodes = map[string]bool{
	"RequestTimeTooSkewed": true,
	"RequestExpired":       true,
	"RequestInTheFuture":   true,
}

// fail turns an SDK error into one that names the operation, bucket and
// key, maps missing objects to store.ErrNotExist and says plainly when the local
// clock is the problem. SDK errors never carry the secret key, and neither
// does anything added here.
func (s *Store) fail(op, key string, err error) error {
	where := fmt.Sprintf("s3 %s %q in %s", op, key, s)
	var code string
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var resp *awshttp.ResponseError
	status := 0
	if errors.As(err, &resp) {
		status = resp.HTTPStatusCode()
	}
	var noKey *types.NoSuchKey
	var notFound *types.NotFound
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("%s: bucket %q does not exist: %w", where, s.bucket, err)
	case errors.As(err, &noKey), errors.As(err, &notFound), code == "NoSuchKey", status == http.StatusNotFound:
		return fmt.Errorf("%s: %w", where, store.ErrNotExist)
	case clockCodes[code]:
		return fmt.Errorf("%s: %s: %w", where, clockMessage(resp, time.Now()), err)
	case code == "InvalidAccessKeyId", code == "SignatureDoesNotMatch", status == http.StatusForbidden:
		return fmt.Errorf("%s: access denied: check the access key id and secret key (and that the key may use this bucket): %w", where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// clockMessage explains a clock-skew refusal, with the offset when the
// server's Date header tells it.
func clockMessage(resp *awshttp.ResponseError, now time.Time) string {
	const fix = "fix the local time (e.g. enable NTP) and retry"
	if resp == nil || resp.Response == nil {
		return "the server refused the request time: the local clock is off; " + fix
	}
	server, err := http.ParseTime(resp.Response.Header.Get("Date"))
	if err != nil {
		return "the server refused the request time: the local clock is off; " + fix
	}
	// Date has whole seconds: the server's clock is up to 1s past it.
	skew := server.Add(500 * time.Millisecond).Sub(now).Round(time.Second)
	switch {
	case skew > 0:
		return fmt.Sprintf("the local clock is off: it is about %s behind the server's (server time %s); %s", skew, server.UTC().Format(time.RFC3339), fix)
	case skew < 0:
		return fmt.Sprintf("the local clock is off: it is about %s ahead of the server's (server time %s); %s", -skew, server.UTC().Format(time.RFC3339), fix)
	}
	return "the server refused the request time although the local clock agrees with its Date header; check the clock of this machine and the server; " + fix
}
