package localsource

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/buildkit/cache"
	"github.com/moby/buildkit/cache/contenthash"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/snapshot"
	"github.com/moby/buildkit/util/progress"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

// syncHere is BuildKit's sync of a local source (source/local's snapshot)
// for a directory of this process's build, with the session left out.
//
// BuildKit's sync is fsutil's: the client's fsutil.Send streams the
// directory (stats, then the files the solver asks for) and the solver's
// fsutil.Receive writes its copy, over a gRPC stream of the session. Here
// both ends are in this process, so the two are joined by a pair of
// channels: the same sender, the same receiver, the same packets, without
// protobuf, HTTP/2 and a socket between them (a quarter of the CPU of an
// empty root's sync of a 20,000-file context, by its profile).
//
// Everything else is BuildKit's code path in its order: the copy found by
// its shared key or made, its content-hash records written by the receiver
// and stored with it, the progress line. The directory is sent as
// BuildKit's client sends it (sendFS).
func (i *instance) syncHere(ctx context.Context, sharedKey string) (out cache.ImmutableRef, retErr error) {
	var mutable cache.MutableRef
	sis, err := i.cm.Search(ctx, sharedKeyIndex+sharedKey, false)
	if err != nil {
		return nil, err
	}
	for _, si := range sis {
		if m, err := i.cm.GetMutable(ctx, si.ID()); err == nil {
			mutable = m
			break
		}
	}
	if mutable == nil {
		m, err := i.cm.New(ctx, nil, nil, cache.CachePolicyRetain, cache.WithRecordType(client.UsageRecordTypeLocalSource), cache.WithDescription(fmt.Sprintf("local source for %s", i.id.Name)))
		if err != nil {
			return nil, err
		}
		mutable = m
	}
	defer func() {
		if retErr != nil && mutable != nil {
			// As BuildKit: the records are in an unknown state.
			mutable.SetCachePolicyDefault()
			contenthash.ClearCacheContext(mutable)
			go mutable.Release(context.WithoutCancel(ctx))
		}
	}()

	mount, err := mutable.Mount(ctx, false, nil)
	if err != nil {
		return nil, err
	}
	lm := snapshot.LocalMounter(mount)
	dest, err := lm.Mount()
	if err != nil {
		return nil, err
	}
	defer func() {
		if lm != nil {
			lm.Unmount()
		}
	}()

	cc, err := contenthash.GetCacheContext(ctx, mutable)
	if err != nil {
		return nil, err
	}
	fs, err := sendFS(i.dir, i.id.IncludePatterns, i.id.ExcludePatterns, i.id.FollowPaths)
	if err != nil {
		return nil, err
	}
	if err := transfer(ctx, fs, dest, fsutil.ReceiveOpt{
		NotifyHashed:  cc.HandleChange,
		ContentHasher: contenthash.NewFromStat,
		ProgressCb:    newProgressHandler(ctx, "transferring "+i.id.Name+":"),
		Differ:        i.id.Differ,
	}); err != nil {
		return nil, fmt.Errorf("transfer %s from %s: %w", i.id.Name, i.dir, err)
	}

	err = lm.Unmount()
	lm = nil
	if err != nil {
		return nil, err
	}
	if err := contenthash.SetCacheContext(ctx, mutable, cc); err != nil {
		return nil, err
	}
	if mutable.GetString(keySharedKey) != sharedKey {
		if err := mutable.SetString(keySharedKey, sharedKey, sharedKeyIndex+sharedKey); err != nil {
			return nil, err
		}
	}
	snap, err := mutable.Commit(ctx)
	if err != nil {
		return nil, err
	}
	mutable = nil
	return snap, nil
}

// sendFS is the directory as BuildKit's client sends it: its FS (NewFS,
// the one this process's session serves), with owners reset to root as
// the client's Solve does for every local source (prepareSyncedFiles), and
// the source's patterns applied as its file-sync provider does.
func sendFS(dir string, includes, excludes, followPaths []string) (fsutil.FS, error) {
	fs, err := NewFS(dir)
	if err != nil {
		return nil, err
	}
	fs, err = fsutil.NewFilterFS(fs, &fsutil.FilterOpt{Map: func(_ string, st *fstypes.Stat) fsutil.MapResult {
		st.Uid, st.Gid = 0, 0
		return fsutil.MapResultKeep
	}})
	if err != nil {
		return nil, err
	}
	return fsutil.NewFilterFS(fs, &fsutil.FilterOpt{IncludePatterns: includes, ExcludePatterns: excludes, FollowPaths: followPaths})
}

// transfer runs fsutil's sender of fs and its receiver into dest, joined
// in memory. Whichever fails first ends both; the sender's error wins, as
// the receiver's then only says the stream broke.
func transfer(ctx context.Context, fs fsutil.FS, dest string, opt fsutil.ReceiveOpt) error {
	eg, ctx := errgroup.WithContext(ctx)
	toRecv := make(chan *fstypes.Packet, 64)
	toSend := make(chan *fstypes.Packet, 64)
	sent, received := make(chan struct{}), make(chan struct{})
	var sendErr error
	eg.Go(func() error {
		defer close(sent)
		sendErr = fsutil.Send(ctx, &memStream{ctx: ctx, in: toSend, out: toRecv, peerDone: received}, fs, nil)
		return sendErr
	})
	eg.Go(func() error {
		defer close(received)
		return fsutil.Receive(ctx, &memStream{ctx: ctx, in: toRecv, out: toSend, peerDone: sent}, dest, opt)
	})
	err := eg.Wait()
	if sendErr != nil {
		return sendErr
	}
	return err
}

// memStream is one end of an in-memory fsutil stream. A packet is handed
// over as the other end will keep it: fsutil's sender reuses its data
// buffers once SendMsg returns, and a stat is the sender's own, so both
// are copied, as serialising them would.
//
// The channels are never closed: a failed receiver returns while its
// writers may still ask for data. Once the other end has returned, sending
// fails as on a finished stream, and receiving drains what it sent, then
// ends (io.EOF, as a gRPC stream whose server returned).
type memStream struct {
	ctx      context.Context
	in       <-chan *fstypes.Packet
	out      chan<- *fstypes.Packet
	peerDone <-chan struct{}
}

func (s *memStream) Context() context.Context { return s.ctx }

func (s *memStream) SendMsg(m any) error {
	p, ok := m.(*fstypes.Packet)
	if !ok {
		return fmt.Errorf("fsutil stream: sending %T", m)
	}
	c := &fstypes.Packet{Type: p.Type, ID: p.ID}
	if p.Stat != nil {
		c.Stat = p.Stat.CloneVT()
	}
	if len(p.Data) > 0 {
		c.Data = append([]byte(nil), p.Data...)
	}
	select {
	case s.out <- c:
		return nil
	case <-s.peerDone:
		return io.ErrClosedPipe
	case <-s.ctx.Done():
		return context.Cause(s.ctx)
	}
}

func (s *memStream) RecvMsg(m any) error {
	p, ok := m.(*fstypes.Packet)
	if !ok {
		return fmt.Errorf("fsutil stream: receiving %T", m)
	}
	var c *fstypes.Packet
	select {
	case c = <-s.in:
	case <-s.peerDone:
		select {
		case c = <-s.in:
		default:
			return io.EOF
		}
	case <-s.ctx.Done():
		return context.Cause(s.ctx)
	}
	p.Type, p.Stat, p.ID, p.Data = c.Type, c.Stat, c.ID, c.Data
	return nil
}

// newProgressHandler is BuildKit's (source/local): the transfer's progress
// line, at most every 100 ms.
func newProgressHandler(ctx context.Context, id string) func(int, bool) {
	limiter := rate.NewLimiter(rate.Every(100*time.Millisecond), 1)
	pw, _, _ := progress.NewFromContext(ctx)
	now := time.Now()
	st := progress.Status{Started: &now, Action: "transferring"}
	pw.Write(id, st)
	return func(s int, last bool) {
		if last || limiter.Allow() {
			st.Current = s
			if last {
				now := time.Now()
				st.Completed = &now
			}
			pw.Write(id, st)
			if last {
				pw.Close()
			}
		}
	}
}
