package datasets

import (
	"sync"

	kzstd "github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// fileZstd is zstd for the pages of one Parquet file, through one encoder.
// A zstd encoder's output depends on what it compressed before, and
// parquet-go's codec hands out pooled encoders (per processor, emptied by
// the garbage collector), so the same rows could come out as different
// bytes from one run to the next. With one encoder per file, a file's bytes
// depend only on its pages. Use a new one for every file.
type fileZstd struct {
	zstd.Codec // name, format code and decoding
	mu         sync.Mutex
	enc        *kzstd.Encoder
}

func newFileZstd(level zstd.Level) *fileZstd {
	return &fileZstd{Codec: zstd.Codec{Level: level, Concurrency: 1}}
}

// Encode compresses src into dst with the file's encoder.
func (c *fileZstd) Encode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enc == nil {
		enc, err := kzstd.NewWriter(nil, kzstd.WithEncoderConcurrency(1), kzstd.WithEncoderLevel(c.Level),
			kzstd.WithZeroFrames(true), kzstd.WithEncoderCRC(false))
		if err != nil {
			return nil, err
		}
		c.enc = enc
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}
