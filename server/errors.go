package server

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// apiError is an error in OpenAI's shape:
// {"error":{"message":…,"type":…,"param":…,"code":…}} with param and code null when unset.
type apiError struct {
	Status     int     `json:"-"`
	Message    string  `json:"message"`
	Type       string  `json:"type"`
	Param      *string `json:"param"`
	Code       *string `json:"code"`
	RetryAfter int     `json:"-"` // seconds, for 429/503; 0 = no header
}

func (e *apiError) Error() string { return e.Message }

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// badParam is a 400 naming the parameter at fault.
func badParam(param, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: msg, Type: "invalid_request_error", Param: strp(param)}
}

func badRequest(msg, code string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: msg, Type: "invalid_request_error", Code: strp(code)}
}

func errNotFound(msg string) *apiError {
	return &apiError{Status: http.StatusNotFound, Message: msg, Type: "invalid_request_error", Code: strp("not_found")}
}

func errModelNotFound(name string) *apiError {
	return &apiError{Status: http.StatusNotFound, Message: "The model `" + name + "` does not exist.",
		Type: "invalid_request_error", Param: strp("model"), Code: strp("model_not_found")}
}

func errUnavailable(msg string) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Message: msg, Type: "server_error", Code: strp("service_unavailable"), RetryAfter: 5}
}

func errInternal(msg string) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Message: msg, Type: "server_error", Code: strp("internal_error")}
}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(struct {
		Error *apiError `json:"error"`
	}{e})
	w.Write(append(b, '\n'))
}
