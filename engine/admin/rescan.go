package admin

// RescanResult says what a rescan changed (POST /admin/plugins/reload).
type RescanResult struct {
	Added     []string          `json:"added"`
	Removed   []string          `json:"removed"`
	Enabled   []string          `json:"enabled"`
	Disabled  []string          `json:"disabled"`
	Reloaded  []string          `json:"reloaded"`
	Unchanged []string          `json:"unchanged"`
	Errors    map[string]string `json:"errors"`
}
