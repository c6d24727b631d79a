package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"
)

// The OpenAI chat-completions shapes this example uses.
type (
	chatRequest struct {
		Model    string        `json:"model"`
		Stream   bool          `json:"stream"`
		Messages []chatMessage `json:"messages"`
	}
	chatMessage struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	chatChunk struct {
		ID      string       `json:"id"`
		Object  string       `json:"object"`
		Created int64        `json:"created"`
		Model   string       `json:"model"`
		Choices []chunkDelta `json:"choices"`
	}
	chunkDelta struct {
		Index int `json:"index"`
		Delta struct {
			Role    string `json:"role,omitempty"`
			Content string `json:"content,omitempty"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	}
)

// maxQuestionRunes bounds the question the stand-in model repeats.
const maxQuestionRunes = 200

// standInModel answers every chat request with a short canned reply about the question, streamed
// token by token as an OpenAI-compatible model does. It stands in for a real model server.
type standInModel struct {
	name  string
	delay time.Duration // pause between tokens
}

func (m *standInModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody)).Decode(&req); err != nil {
		http.Error(w, fmt.Sprintf("the request is not a chat-completions request: %v", err), http.StatusBadRequest)
		return
	}
	if !req.Stream {
		http.Error(w, `this stand-in model only streams: ask with "stream": true`, http.StatusBadRequest)
		return
	}
	question := ""
	for _, msg := range req.Messages {
		if msg.Role == "user" {
			question = msg.Content
		}
	}
	if utf8.RuneCountInString(question) > maxQuestionRunes {
		question = string([]rune(question)[:maxQuestionRunes]) + "…"
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	created := time.Now().Unix()
	send := func(content, role string, finish *string) error {
		c := chatChunk{ID: "chatcmpl-standin", Object: "chat.completion.chunk", Created: created, Model: m.name, Choices: []chunkDelta{{FinishReason: finish}}}
		c.Choices[0].Delta.Role, c.Choices[0].Delta.Content = role, content
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if send("", "assistant", nil) != nil {
		return
	}
	for _, tok := range tokens(reply(question)) {
		if m.delay > 0 {
			select {
			case <-time.After(m.delay):
			case <-r.Context().Done():
				return
			}
		}
		if send(tok, "", nil) != nil {
			return
		}
	}
	stop := "stop"
	if send("", "", &stop) != nil {
		return
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	rc.Flush()
}

// reply is the stand-in model's answer. It mixes scripts, and spells "café" with a combining
// accent that arrives in a token of its own, to show that the labeler normalizes text across
// token boundaries.
func reply(question string) string {
	return fmt.Sprintf("You asked: %q. Astana has been the capital of Kazakhstan since 1997. "+
		"It lies on the Ishim river, and its Bayterek tower is 97 metres tall. "+
		"Сәлем, Астана! A good cafe\u0301 near the Esil embankment serves baursaks with tea.", question)
}

// tokens splits s into the pieces a model would emit: words with the spaces after them, and a
// combining mark on its own.
func tokens(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		switch {
		case r == '\u0301':
			out = append(out, s[start:i])
			start = i
		case r == ' ' && i+1 < len(s) && s[i+1] != ' ':
			out = append(out, s[start:i+1])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return slices.DeleteFunc(out, func(t string) bool { return t == "" })
}
