package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	cacheddiscovery "k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/controller-manager/pkg/informerfactory"
	"k8s.io/kubernetes/pkg/controller/endpointslice"
	"k8s.io/kubernetes/pkg/controller/garbagecollector"
	serviceaccountcontroller "k8s.io/kubernetes/pkg/controller/serviceaccount"
)

// The kube-controller-manager defaults (pkg/controller/endpointslice/config/v1alpha1 and
// garbagecollector/config/v1alpha1): --max-endpoints-per-slice, --concurrent-service-endpoint-syncs,
// --endpointslice-updates-batch-period, --concurrent-gc-syncs.
const (
	maxEndpointsPerSlice   = 100
	endpointSliceWorkers   = 5
	endpointUpdatesBatch   = 0 * time.Second
	garbageCollectorSyncs  = 20
	garbageCollectorPeriod = 30 * time.Second
)

// startControllers runs, in this process, the controllers of kube-controller-manager that
// make the test server behave like a cluster for Epictetus, started as
// cmd/kube-controller-manager/app does (core.go, discovery.go) on one shared informer factory:
//
//   - the EndpointSlice controller: Services with a selector get EndpointSlices of their Pods;
//   - the ServiceAccount controller: every namespace gets its "default" ServiceAccount, without
//     which the ServiceAccount admission plugin refuses Pods;
//   - the garbage collector: a deleted Service's EndpointSlices go with it.
//
// cfg reaches the apiserver through the relay, so the controllers outlive `restart` (their
// watches break, re-list and carry on). They stop when ctx ends.
func startControllers(ctx context.Context, cfg *restclient.Config) error {
	client, err := kubernetes.NewForConfig(restclient.AddUserAgent(cfg, "kube-controller-manager"))
	if err != nil {
		return err
	}
	metadataClient, err := metadata.NewForConfig(cfg)
	if err != nil {
		return err
	}
	discoveryClient, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	shared := informers.NewSharedInformerFactory(client, 0)
	metadataInformers := metadatainformer.NewSharedInformerFactory(metadataClient, 0)
	informersStarted := make(chan struct{})

	go endpointslice.NewController(
		ctx,
		shared.Core().V1().Pods(),
		shared.Core().V1().Services(),
		shared.Core().V1().Nodes(),
		shared.Discovery().V1().EndpointSlices(),
		maxEndpointsPerSlice,
		client,
		endpointUpdatesBatch,
	).Run(ctx, endpointSliceWorkers)

	serviceAccounts, err := serviceaccountcontroller.NewServiceAccountsController(
		shared.Core().V1().ServiceAccounts(),
		shared.Core().V1().Namespaces(),
		client,
		serviceaccountcontroller.DefaultServiceAccountsControllerOptions(),
	)
	if err != nil {
		return fmt.Errorf("the ServiceAccount controller: %w", err)
	}
	go serviceAccounts.Run(ctx, 1)

	restMapper := restmapper.NewDeferredDiscoveryRESTMapper(cacheddiscovery.NewMemCacheClient(discoveryClient))
	graph := garbagecollector.NewDependencyGraphBuilder(
		ctx,
		metadataClient,
		restMapper,
		garbagecollector.DefaultIgnoredResources(),
		informerfactory.NewInformerFactory(shared, metadataInformers),
		informersStarted,
	)
	collector, err := garbagecollector.NewComposedGarbageCollector(ctx, client, metadataClient, restMapper, graph)
	if err != nil {
		return fmt.Errorf("the garbage collector: %w", err)
	}
	go collector.Run(ctx, garbageCollectorSyncs, garbageCollectorPeriod)
	go collector.Sync(ctx, discoveryClient, garbageCollectorPeriod)

	shared.Start(ctx.Done())
	metadataInformers.Start(ctx.Done())
	close(informersStarted)
	shared.WaitForCacheSync(ctx.Done())

	// Ready once namespace "default" has its ServiceAccount: Pods can be created there.
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
}
