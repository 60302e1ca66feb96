package engine

import "github.com/go-chi/chi/v5"

func (e *Engine) parkedRoutes(r chi.Router) {}
