package identity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The legacy format is the original Windows IoT Core sample's: {"regid":"…","ek":"…"}, ek the
// standard base64 of the TPM2B_PUBLIC. It is read so that devices already in the field keep
// working, and written on request for tools that only know it. It forces the QR code into
// byte mode and repeats the registration ID, so it makes a far denser code than v1.

// legacyPayload is the legacy format's only shape; field order is the original's.
type legacyPayload struct {
	RegID string `json:"regid"`
	EK    string `json:"ek"`
}

// encodeLegacy writes id, whose EK ek has been validated, in the legacy format.
func encodeLegacy(id Identity, ek *EK) (string, error) {
	if id.RegistrationID != "" && id.RegistrationID != ek.RegistrationID() {
		return "", errors.New("identity: the legacy format cannot carry an OEM-chosen registration ID (its readers derive it from the EK); use the v1 format")
	}
	if id.Label != "" {
		return "", errors.New("identity: the legacy format cannot carry a device label; use the v1 format or drop the label")
	}
	b, err := json.Marshal(legacyPayload{RegID: ek.RegistrationID(), EK: base64.StdEncoding.EncodeToString(ek.TPM2BPublic)})
	if err != nil {
		return "", fmt.Errorf("identity: %v", err)
	}
	return string(b), nil
}

// parseLegacy parses and validates a legacy payload. It walks the JSON tokens itself because
// encoding/json would accept duplicate keys (last wins) and match keys case-insensitively,
// and a payload that two readers could read differently has no place on an enrollment path.
func parseLegacy(text string) (Identity, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return Identity{}, notIdentity(text)
	}
	fields := map[string]string{}
	var problem error
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Identity{}, badJSON(text, err)
		}
		key, _ := tok.(string) // inside an object, a token is a key or More reported false
		// Kept raw: a value is only ever used as a string, and decoding a number of 100,000
		// digits into a float64 would fail as "broken JSON" on valid JSON.
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return Identity{}, badJSON(text, err)
		}
		var s string
		isString := len(value) > 0 && value[0] == '"' && json.Unmarshal(value, &s) == nil
		_, dup := fields[key]
		switch {
		case problem != nil:
		case key != "regid" && key != "ek":
			problem = fmt.Errorf("%w: unknown field %s; the legacy format has only \"regid\" and \"ek\"", ErrMalformed, excerpt(key))
		case dup:
			problem = fmt.Errorf("%w: field %s appears twice", ErrMalformed, excerpt(key))
		case !isString:
			problem = fmt.Errorf("%w: field %s is not a string", ErrMalformed, excerpt(key))
		}
		fields[key] = s
	}
	if _, err := dec.Token(); err != nil {
		return Identity{}, badJSON(text, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Identity{}, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	_, hasRegID := fields["regid"]
	_, hasEK := fields["ek"]
	if !hasRegID && !hasEK && !hasLegacyKeyFolded(fields) {
		// Some other product's JSON: not ours, whatever else is wrong with it.
		return Identity{}, notIdentity(text)
	}
	if problem != nil {
		return Identity{}, problem
	}
	if !hasRegID || !hasEK {
		return Identity{}, fmt.Errorf("%w: the legacy format needs both \"regid\" and \"ek\"", ErrMalformed)
	}
	ek, err := decodeLegacyEK(fields["ek"])
	if err != nil {
		return Identity{}, err
	}
	// The original sample always derived the registration ID; carrying it as well is only a
	// chance for the two to disagree, and if they do the code cannot be trusted.
	if want := ek.RegistrationID(); fields["regid"] != want {
		return Identity{}, fmt.Errorf("%w: it says %s, the EK yields %q", ErrTampered, excerpt(fields["regid"]), want)
	}
	return Identity{RegistrationID: fields["regid"], EndorsementKey: ek.TPM2BPublic}, nil
}

// hasLegacyKeyFolded reports whether a key is one of ours in another case ("EK"): a damaged
// or hand-made payload of ours, not someone else's.
func hasLegacyKeyFolded(fields map[string]string) bool {
	for k := range fields {
		if strings.EqualFold(k, "regid") || strings.EqualFold(k, "ek") {
			return true
		}
	}
	return false
}

// badJSON reports broken JSON: ours if it mentions our fields, someone else's otherwise.
func badJSON(text string, err error) error {
	if strings.Contains(text, `"ek"`) || strings.Contains(text, `"regid"`) {
		return fmt.Errorf("%w: broken JSON: %s", ErrMalformed, excerpt(err.Error()))
	}
	return notIdentity(text)
}

// decodeLegacyEK decodes the "ek" field, recognising the encodings people put there by
// mistake before trying standard base64.
func decodeLegacyEK(s string) (*EK, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: \"ek\" is empty", ErrBadEK)
	}
	// Hex digits are also base64 characters, so hex must be recognised first.
	if strings.HasPrefix(s, "-----BEGIN") || isEncodedEK([]byte(s), hexText) {
		return nil, diagnoseEK([]byte(s))
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if alt, err := enc.Strict().DecodeString(s); err == nil {
				if _, err := checkTPM2BPublic(alt); err == nil {
					return nil, fmt.Errorf("%w: \"ek\" is base64url or unpadded base64; use standard base64 with padding (`base64 -w0 ek.pub`)", ErrBadEK)
				}
			}
		}
		return nil, fmt.Errorf("%w: \"ek\" is not standard base64 (%v); %s", ErrBadEK, err, exportHint)
	}
	return ParseEK(raw)
}

// maxExcerpt bounds how much of a hostile value a message quotes.
const maxExcerpt = 64

// excerpt quotes s for a message, cut to maxExcerpt bytes with its length said when longer.
func excerpt(s string) string {
	if len(s) <= maxExcerpt {
		return strconv.Quote(s)
	}
	cut := s[:maxExcerpt]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(cut), len(s))
}
