package shared

import "errors"

// Errors returned by Bucket operations (wrapped with details).
var (
	ErrInvalidKey    = errors.New("invalid key")
	ErrInvalidValue  = errors.New("invalid value")
	ErrValueTooLarge = errors.New("value too large")
	ErrBucketFull    = errors.New("bucket full")
	ErrNotNumber     = errors.New("value is not a number")
)
