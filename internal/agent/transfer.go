package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/scnlabs/scn/internal/agent/wire"
)

// putParts uploads r as the parts of the multipart upload scn started:
// parts of PartSize are filled in turn and sent Concurrency at a time,
// each with the URL scn presigned for it (asked for while the part fills),
// retried on 5xx, resets and expired URLs. scn hears of every part sent
// and completes the upload; the object does not exist before that.
func (a *agent) putParts(ctx context.Context, r io.Reader) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	size := a.acc.PartSize
	if size <= 0 {
		return 0, errors.New("scn gave no part size")
	}
	free := make(chan []byte, a.acc.Concurrency+1)
	for range cap(free) {
		free <- nil // allocated on first use: a small object needs one buffer
	}
	var wg sync.WaitGroup
	var total int64
	for n := 1; ; n++ {
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
			wg.Wait()
			return total, context.Cause(ctx)
		}
		if buf == nil {
			buf = make([]byte, size)
		}
		// The part's first bytes, then its URL (asked for while the rest
		// fills, so the round trip to scn costs no time): a stream that
		// ended exactly at the last part never asks for one more.
		k, err := io.ReadAtLeast(r, buf, 1)
		if err == io.EOF && n > 1 {
			break
		}
		u := &urlHolder{a: a, n: n}
		if perr := u.prefetch(); perr != nil {
			cancel(perr)
			break
		}
		if err == nil {
			var more int
			more, err = io.ReadFull(r, buf[k:])
			k += more
		}
		last := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !last {
			cancel(err)
			break
		}
		total += int64(k)
		wg.Add(1)
		go func(n int, data []byte) {
			defer wg.Done()
			defer func() { free <- data[:cap(data)] }()
			etag, err := a.sendPart(ctx, u, data)
			if err == nil {
				err = a.s.send(wire.Msg{Type: wire.Part, N: n, ETag: etag, Size: int64(len(data))})
			}
			if err != nil {
				cancel(fmt.Errorf("part %d: %w", n, err))
			}
		}(n, buf[:k])
		if last {
			break
		}
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return total, err
	}
	return total, nil
}

// sendPart PUTs one part and returns its ETag.
func (a *agent) sendPart(ctx context.Context, u *urlHolder, data []byte) (string, error) {
	var etag string
	err := a.retry(ctx, "uploading", u, func(req *wire.Request) error {
		resp, err := a.do(ctx, req, data, nil)
		if err != nil {
			return err // a reset or timeout: try again
		}
		defer resp.Body.Close()
		if err := classify(resp, http.StatusOK); err != nil {
			return err
		}
		etag = resp.Header.Get("ETag")
		if etag == "" {
			return &attemptErr{err: errors.New("the store accepted the part but sent no ETag")}
		}
		io.Copy(io.Discard, resp.Body)
		return nil
	})
	return etag, err
}

// download fetches ranges of the data object with the GET URL scn
// presigned (one URL serves every range: Range is not signed).
type download struct {
	a   *agent
	url *urlHolder
}

// fetch implements ranges.Fetch.
func (d *download) fetch(ctx context.Context, start int64, buf []byte) error {
	end := start + int64(len(buf)) - 1
	return d.a.retry(ctx, fmt.Sprintf("downloading bytes %d-%d", start, end), d.url, func(req *wire.Request) error {
		resp, err := d.a.do(ctx, req, nil, http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", start, end)}})
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := classify(resp, http.StatusPartialContent, http.StatusOK); err != nil {
			return err
		}
		if resp.StatusCode == http.StatusOK && (start != 0 || resp.ContentLength != int64(len(buf))) {
			return &attemptErr{err: errors.New("the store ignored the Range header"), final: true}
		}
		if cr := resp.Header.Get("Content-Range"); resp.StatusCode == http.StatusPartialContent && !strings.HasPrefix(cr, "bytes "+strconv.FormatInt(start, 10)+"-") {
			return &attemptErr{err: fmt.Errorf("asked for bytes %d-%d, the store sent %q", start, end, cr), final: true}
		}
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			return fmt.Errorf("the body broke off: %w", err) // a reset mid-body: fetch again
		}
		return nil
	})
}
