package dps

import (
	"context"
	"fmt"
	"time"
)

// authorization returns a service token for the connection string's policy, reusing the last
// one until it nears expiry: signing is cheap, but one token per burst keeps the clocks' skew
// from mattering mid-burst.
func (c *Client) authorization(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	margin := max(c.tokenLifetime/10, time.Minute)
	if c.token != "" && now.Add(margin).Before(c.tokenExpiry) {
		return c.token, nil
	}
	expiry := now.Add(c.tokenLifetime)
	tok, err := c.cs.Token(ctx, expiry)
	if err != nil {
		return "", fmt.Errorf("dps: signing a service token: %w", err)
	}
	c.token, c.tokenExpiry = tok, expiry
	return tok, nil
}
