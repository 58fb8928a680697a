package extract

// The listings' cursor pagination, and one-shot JSON GETs.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// eachListed calls each with every item under key of every page of a
// cursor-paginated listing, following nextCursor until it is null.
func (c *Client) eachListed(ctx context.Context, what, endpoint, key string, each func(item json.RawMessage) error) error {
	cursor := ""
	for {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page map[string]json.RawMessage
		if err := c.getJSON(ctx, what, endpoint+"?"+q.Encode(), &page); err != nil {
			return err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(page[key], &items); err != nil {
			return fmt.Errorf("%s: unexpected response: no %q array", what, key)
		}
		var next *string
		if raw, ok := page["nextCursor"]; ok {
			if err := json.Unmarshal(raw, &next); err != nil {
				return fmt.Errorf("%s: unexpected response: nextCursor is not a string or null", what)
			}
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return err
			}
		}
		if next == nil || *next == "" {
			return nil
		}
		if *next == cursor {
			return fmt.Errorf("%s: the listing returned the same nextCursor twice; stopping rather than looping", what)
		}
		cursor = *next
	}
}

// getJSON performs GET u (a listing or the feed: not a proposal's own
// request) and decodes its 200 body into v. A 4xx other than 401 wraps
// ErrListingRefused; an outage is an *UnavailableError.
func (c *Client) getJSON(ctx context.Context, what, u string, v any) error {
	r, err := c.get(ctx, "", u)
	if err != nil {
		return fmt.Errorf("%s: %w", what, unavailableIfTransient(err))
	}
	if r.status != http.StatusOK {
		err := c.statusError("", r)
		if r.status >= 400 && r.status < 500 && !errors.Is(err, ErrUnauthorized) {
			return fmt.Errorf("%w: %s: %w", ErrListingRefused, what, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("%s: unexpected response: %v", what, err)
	}
	return nil
}
